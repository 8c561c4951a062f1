// The guide's ".NET Client" section, copied as written. Only GetAccessToken (the token source)
// was filled in; everything else, including the logging of message bodies on the client side,
// is the guide's.
#pragma warning disable CA2254
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Switchboard.Server.Tests.GuideSnippets;

public class SignalRClient : IAsyncDisposable
{
    /// <summary>Filled in by the test: where this client gets its token.</summary>
    public static string? Token { get; set; }

    private readonly HubConnection _connection;
    private readonly ILogger<SignalRClient> _logger;

    public event Action<string, string>? MessageReceived;

    public SignalRClient(string hubUrl, ILogger<SignalRClient> logger)
    {
        _logger = logger;

        _connection = new HubConnectionBuilder()
            .WithUrl(hubUrl, options =>
            {
                options.AccessTokenProvider = () => Task.FromResult(GetAccessToken());
            })
            .WithAutomaticReconnect(new[] { TimeSpan.Zero, TimeSpan.FromSeconds(2),
                TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(10) })
            .AddJsonProtocol()
            .Build();

        SetupEventHandlers();
    }

    private void SetupEventHandlers()
    {
        _connection.On<string, string>("ReceiveMessage", (user, message) =>
        {
            _logger.LogInformation("Message from {User}: {Message}", user, message);
            MessageReceived?.Invoke(user, message);
        });

        _connection.Reconnecting += error =>
        {
            _logger.LogWarning("Reconnecting: {Error}", error?.Message);
            return Task.CompletedTask;
        };

        _connection.Reconnected += connectionId =>
        {
            _logger.LogInformation("Reconnected: {ConnectionId}", connectionId);
            return Task.CompletedTask;
        };

        _connection.Closed += error =>
        {
            _logger.LogWarning("Connection closed: {Error}", error?.Message);
            return Task.CompletedTask;
        };
    }

    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await _connection.StartAsync(cancellationToken);
                _logger.LogInformation("Connected to SignalR hub");
                return;
            }
            catch (Exception ex)
            {
                _logger.LogError(ex, "Failed to connect, retrying in 5 seconds");
                await Task.Delay(5000, cancellationToken);
            }
        }
    }

    public async Task SendMessageAsync(string user, string message)
    {
        await _connection.InvokeAsync("SendMessage", user, message);
    }

    public async Task JoinGroupAsync(string groupName)
    {
        await _connection.InvokeAsync("JoinGroup", groupName);
    }

    private string? GetAccessToken()
    {
        // Get token from your auth service
        return Token;
    }

    public async ValueTask DisposeAsync()
    {
        await _connection.DisposeAsync();
    }
}
