using System.Net.Http.Headers;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Switchboard.Client;
using Switchboard.Server.Authentication;

namespace Switchboard.Server.Tests.Infrastructure;

/// <summary>
/// Several real Switchboard processes sharing one real <c>redis-server</c>: what a scaled-out
/// deployment is. Hands out tokens, official clients and HTTP clients per process.
/// </summary>
public sealed class Cluster : IAsyncDisposable
{
    private readonly List<string> _folders = [];
    private readonly Dictionary<string, string> _settings;
    private readonly TokenIssuer _tokens = new(Options.Create(new JwtOptions { Key = SwitchboardFactory.TestKey }), TimeProvider.System);

    private Cluster(RedisServer redis, Dictionary<string, string> settings)
    {
        Redis = redis;
        _settings = settings;
    }

    public RedisServer Redis { get; }
    public List<ServerProcess> Nodes { get; } = [];
    public string Prefix { get; } = "c" + Guid.NewGuid().ToString("N")[..10];

    /// <summary>Starts <paramref name="nodes"/> processes (in parallel) on <paramref name="redis"/>, or on a Redis of its own.</summary>
    public static async Task<Cluster> StartAsync(int nodes, RedisServer? redis = null, Dictionary<string, string>? settings = null)
    {
        var cluster = new Cluster(redis ?? await RedisServer.StartAsync(), settings ?? []);
        try
        {
            var started = await Task.WhenAll(Enumerable.Range(0, nodes).Select(_ => cluster.StartNodeAsync()));
            cluster.Nodes.AddRange(started);
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
        return cluster;
    }

    /// <summary>One more process of this cluster (not added to <see cref="Nodes"/>).</summary>
    public Task<ServerProcess> StartNodeAsync()
    {
        var folder = Directory.CreateTempSubdirectory("switchboard-node-").FullName;
        lock (_folders) _folders.Add(folder);
        var settings = new Dictionary<string, string>(_settings)
        {
            ["ConnectionStrings__Redis"] = Redis.ConnectionString,
            ["Switchboard__Redis__ChannelPrefix"] = Prefix,
            ["Switchboard__Limits__HttpRequestsPerSecond"] = "0",
        };
        // The backplane's connection failures and restorations, for the report of a failed test.
        settings.TryAdd("Logging__LogLevel__Microsoft.AspNetCore.SignalR.StackExchangeRedis", "Information");
        return ServerProcess.StartAsync(folder, settings);
    }

    public string Token(string userId, string? name = null, params string[] roles) => _tokens.Issue(userId, name, roles);

    public string PublisherToken() => Token("backend", "Backend", Roles.Publisher);

    public HttpClient Http(int node, string? token = null)
    {
        var client = new HttpClient { BaseAddress = new Uri(Nodes[node].BaseUrl), Timeout = TestTimeouts.Network };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token ?? PublisherToken());
        return client;
    }

    /// <summary>
    /// A started official client on <paramref name="node"/>, WebSockets without negotiation (no
    /// stickiness needed) unless <paramref name="negotiate"/>: only a negotiated client knows its connection id.
    /// </summary>
    public async Task<HubConnection> ConnectAsync(int node, string hubPath, string userId, string? name = null, bool negotiate = false,
        bool messagePack = false)
    {
        var token = Token(userId, name);
        var builder = new HubConnectionBuilder().WithUrl(Nodes[node].BaseUrl + hubPath, options =>
        {
            options.Transports = HttpTransportType.WebSockets;
            options.SkipNegotiation = !negotiate;
            options.AccessTokenProvider = () => Task.FromResult<string?>(token);
        });
        if (messagePack)
        {
            builder.AddMessagePackProtocol();
        }
        var connection = builder.Build();
        await connection.StartedAsync();
        return connection;
    }

    /// <summary>Switchboard's .NET client for the chat hub at <paramref name="baseUrl"/> (a node or a load balancer), not started.</summary>
    public SwitchboardClient Client(string baseUrl, string userId) => new(new SwitchboardClientOptions
    {
        Url = new Uri(baseUrl + Contracts.HubRoutes.Chat),
        AccessTokenProvider = () => Task.FromResult<string?>(Token(userId)),
        ReconnectDelays = [TimeSpan.Zero, TimeSpan.FromMilliseconds(250), TimeSpan.FromMilliseconds(500)],
    });

    public async ValueTask DisposeAsync()
    {
        foreach (var node in Nodes) await node.DisposeAsync();
        await Redis.DisposeAsync();
        foreach (var folder in _folders)
        {
            try { Directory.Delete(folder, recursive: true); } catch (IOException) { }
        }
    }
}
