using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Switchboard.Server.Authentication;

namespace Switchboard.Server.Tests.Infrastructure;

/// <summary>
/// Boots the real <c>Program</c> on Kestrel at 127.0.0.1 on a free port, in a non-Development
/// environment with a test signing key, and hands out real tokens and official SignalR clients.
/// Extra settings (configuration keys) may be given per factory.
/// </summary>
public sealed class SwitchboardFactory : WebApplicationFactory<Program>
{
    public const string TestKey = "switchboard-tests-signing-key-0123456789abcdef";

    private readonly Dictionary<string, string?> _settings;
    private string? _baseUrl;

    public SwitchboardFactory() : this(new Dictionary<string, string?>()) { }

    /// <summary>A server with extra configuration; not a fixture constructor (xunit allows one public).</summary>
    internal SwitchboardFactory(IDictionary<string, string?> settings)
    {
        _settings = new Dictionary<string, string?>(settings);
        // Tests flood on purpose (1,000 publishes from one connection); the rate limit's own tests turn it on.
        _settings.TryAdd("Switchboard:Limits:InvocationsPerSecond", "0");
        _settings.TryAdd("Switchboard:Limits:HttpRequestsPerSecond", "0");
        if (!_settings.ContainsKey("Switchboard:History:DataFolder"))
        {
            DataFolder = Directory.CreateTempSubdirectory("switchboard-test-").FullName;
            _settings["Switchboard:History:DataFolder"] = DataFolder;
        }
        UseKestrel(options => options.Listen(IPAddress.Loopback, 0));
    }

    /// <summary>The fresh temporary folder holding this server's SQLite history; deleted on dispose.</summary>
    public string? DataFolder { get; }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        if (DataFolder is not null)
        {
            try { Directory.Delete(DataFolder, recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>Every log line the server wrote, formatted, with its category and exception.</summary>
    public ConcurrentQueue<string> Logs { get; } = new();

    /// <summary>Changes to the server's services, applied after its own registrations (e.g. a real store wrapped to hold a step).</summary>
    public Action<IServiceCollection>? TestServices { get; init; }

    /// <summary>Minimum level captured in <see cref="Logs"/> (and written by the server). Default Information.</summary>
    public LogLevel CaptureLevel { get; init; } = LogLevel.Information;

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        builder.UseSetting("Jwt:Key", TestKey);
        builder.UseSetting("Urls", "http://127.0.0.1:0");
        // appsettings.json quiets Microsoft.AspNetCore to Warning; a capture level applies everywhere.
        builder.UseSetting("Logging:LogLevel:Default", CaptureLevel.ToString());
        builder.UseSetting("Logging:LogLevel:Microsoft.AspNetCore", CaptureLevel.ToString());
        foreach (var (key, value) in _settings)
        {
            builder.UseSetting(key, value);
        }
        if (TestServices is { } configure)
        {
            builder.ConfigureTestServices(configure);
        }
        builder.ConfigureLogging(logging =>
        {
            logging.SetMinimumLevel(CaptureLevel);
            logging.AddFilter(null, CaptureLevel);
            logging.AddProvider(new CapturingLoggerProvider(Logs));
        });
    }

    /// <summary>The server's base address, e.g. <c>http://127.0.0.1:41234</c>. Starts the server on first use.</summary>
    public string BaseUrl
    {
        get
        {
            if (_baseUrl is null)
            {
                StartServer();
                var addresses = Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
                _baseUrl = addresses.First().TrimEnd('/');
            }
            return _baseUrl;
        }
    }

    public T Get<T>() where T : notnull => Services.GetRequiredService<T>();

    public string Token(string userId, string? name = null, string[]? roles = null, TimeSpan? lifetime = null)
    {
        _ = BaseUrl;
        return Get<TokenIssuer>().Issue(userId, name, roles, lifetime);
    }

    public HttpClient Http(string? token = null)
    {
        var client = new HttpClient { BaseAddress = new Uri(BaseUrl), Timeout = TestTimeouts.Network };
        if (token is not null)
        {
            client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        }
        return client;
    }

    /// <summary>An official .NET client for <paramref name="hubPath"/>, not yet started.</summary>
    public HubConnection Hub(string hubPath, string? token, HttpTransportType transport = HttpTransportType.WebSockets,
        bool messagePack = false, bool skipNegotiation = false)
    {
        var builder = new HubConnectionBuilder().WithUrl(BaseUrl + hubPath, options =>
        {
            options.Transports = transport;
            options.SkipNegotiation = skipNegotiation;
            if (token is not null)
            {
                options.AccessTokenProvider = () => Task.FromResult<string?>(token);
            }
        });
        if (messagePack)
        {
            builder.AddMessagePackProtocol();
        }
        return builder.Build();
    }

    /// <summary>A started client; the start is bounded by <see cref="TestTimeouts.Network"/>.</summary>
    public async Task<HubConnection> ConnectAsync(string hubPath, string? token, HttpTransportType transport = HttpTransportType.WebSockets,
        bool messagePack = false)
    {
        var connection = Hub(hubPath, token, transport, messagePack);
        await connection.StartedAsync();
        return connection;
    }

    private sealed class CapturingLoggerProvider(ConcurrentQueue<string> sink) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new CapturingLogger(categoryName, sink);
        public void Dispose() { }
    }

    private sealed class CapturingLogger(string category, ConcurrentQueue<string> sink) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var values = state is IEnumerable<KeyValuePair<string, object?>> pairs
                ? string.Join(" ", pairs.Select(p => $"{p.Key}={p.Value}"))
                : "";
            sink.Enqueue($"{logLevel} {category}[{eventId.Id}] {formatter(state, exception)} | {values} | {exception}");
        }
    }
}

/// <summary>Base for fixtures that need a server with extra configuration: <c>class X() : SwitchboardFactoryWith(new() { [key] = value })</c>.</summary>
public abstract class SwitchboardFactoryWith(Dictionary<string, string?> settings) : IAsyncDisposable
{
    private readonly SwitchboardFactory _server = new(settings);

    public string BaseUrl => _server.BaseUrl;
    public T Get<T>() where T : notnull => _server.Get<T>();
    public string Token(string userId, string? name = null, string[]? roles = null, TimeSpan? lifetime = null) =>
        _server.Token(userId, name, roles, lifetime);
    public HttpClient Http(string? token = null) => _server.Http(token);
    public Microsoft.AspNetCore.SignalR.Client.HubConnection Hub(string hubPath, string? token,
        HttpTransportType transport = HttpTransportType.WebSockets, bool messagePack = false, bool skipNegotiation = false) =>
        _server.Hub(hubPath, token, transport, messagePack, skipNegotiation);
    public Task<Microsoft.AspNetCore.SignalR.Client.HubConnection> ConnectAsync(string hubPath, string? token,
        HttpTransportType transport = HttpTransportType.WebSockets, bool messagePack = false) =>
        _server.ConnectAsync(hubPath, token, transport, messagePack);
    public ValueTask DisposeAsync() => _server.DisposeAsync();
}
