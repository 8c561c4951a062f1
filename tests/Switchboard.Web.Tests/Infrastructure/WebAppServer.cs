using System.Net;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Switchboard.Server.Authentication;

namespace Switchboard.Web.Tests.Infrastructure;

/// <summary>
/// The real <c>Program</c> on Kestrel at 127.0.0.1 on a free port, by default in the Development
/// environment with its development key (as <c>dotnet run</c> starts it), a fresh data folder and
/// the default limits. Other environments and settings for the tests that check what is absent.
/// </summary>
public sealed class WebAppServer : WebApplicationFactory<Program>
{
    private readonly string _environment;
    private readonly Dictionary<string, string?> _settings;
    private readonly string _dataFolder = Directory.CreateTempSubdirectory("switchboard-web-test-").FullName;
    private string? _baseUrl;

    public WebAppServer() : this("Development", []) { }

    internal WebAppServer(string environment, Dictionary<string, string?> settings)
    {
        _environment = environment;
        _settings = settings;
        UseKestrel(options => options.Listen(IPAddress.Loopback, 0));
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment(_environment);
        builder.UseSetting("Urls", "http://127.0.0.1:0");
        builder.UseSetting("Switchboard:History:DataFolder", _dataFolder);
        foreach (var (key, value) in _settings)
        {
            builder.UseSetting(key, value);
        }
        builder.ConfigureLogging(logging => logging.SetMinimumLevel(LogLevel.Warning));
    }

    /// <summary>The server's base address, e.g. <c>http://127.0.0.1:41234</c>. Starts the server on first use.</summary>
    public string BaseUrl
    {
        get
        {
            if (_baseUrl is null)
            {
                StartServer();
                _baseUrl = Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First().TrimEnd('/');
            }
            return _baseUrl;
        }
    }

    public T Get<T>() where T : notnull
    {
        _ = BaseUrl;
        return Services.GetRequiredService<T>();
    }

    public string Token(string userId, string? name = null, params string[] roles) => Get<TokenIssuer>().Issue(userId, name, roles);

    public HttpClient Http(string? token = null)
    {
        var client = new HttpClient { BaseAddress = new Uri(BaseUrl), Timeout = Timeouts.Network };
        if (token is not null)
        {
            client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        }
        return client;
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        try { Directory.Delete(_dataFolder, recursive: true); } catch (IOException) { }
    }
}
