using System.Diagnostics;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;

namespace Switchboard.Bench.Clients;

/// <summary>
/// The official .NET SignalR client (Microsoft.AspNetCore.SignalR.Client) over WebSockets with
/// negotiation skipped, JSON or MessagePack, speaking the guide's hub methods: <c>JoinGroup</c>,
/// <c>SendMessageToGroup</c> and <c>ReceiveMessage</c> on the chat hub, <c>SendPrivateMessage</c>
/// and <c>PrivateMessage</c> on the secure chat hub. The WebSocket is opened by
/// <see cref="LoopbackSources"/> so connections spread over loopback source addresses.
/// </summary>
internal sealed class SignalRLoadClient : ILoadClient
{
    private readonly HubConnection _connection;

    public SignalRLoadClient(string baseUrl, Endpoint endpoint, WireProtocol protocol, string? token, LoopbackSources sources, int index)
    {
        var builder = new HubConnectionBuilder().WithUrl(baseUrl + HubPath(endpoint), HttpTransportType.WebSockets, o =>
        {
            o.SkipNegotiation = true;
            o.WebSocketFactory = async (context, ct) => await sources.ConnectAsync(context.Uri, index, token, ct);
        });
        if (protocol == WireProtocol.MessagePack) builder.AddMessagePackProtocol();
        _connection = builder.Build();
        _connection.ServerTimeout = TimeSpan.FromSeconds(60);
        _connection.On<string?, string>("ReceiveMessage", (_, message) => Received?.Invoke(message, Stopwatch.GetTimestamp()));
        _connection.On<string?, string>("PrivateMessage", (_, message) => Received?.Invoke(message, Stopwatch.GetTimestamp()));
        _connection.On<Notification>("ReceiveNotification", _ => Notified?.Invoke());
        // The guide's hub announces every connect and join to everyone; handle them so the client
        // does not log a missing handler for each.
        _connection.On<string>("UserConnected", _ => { });
        _connection.On<string>("UserDisconnected", _ => { });
        _connection.On<string, string>("UserJoined", (_, _) => { });
        _connection.On<string, string>("UserLeft", (_, _) => { });
    }

    /// <summary>The hub path of an endpoint, the same on every SignalR server under test.</summary>
    public static string HubPath(Endpoint endpoint) => endpoint switch
    {
        Endpoint.Chat => "/hubs/chat",
        Endpoint.SecureChat => "/hubs/secure-chat",
        _ => "/hubs/notifications",
    };

    public Action<string, long>? Received { get; set; }

    public Action? Notified { get; set; }

    public Task StartAsync(CancellationToken ct) => _connection.StartAsync(ct);

    public Task JoinAsync(string group, CancellationToken ct) => _connection.InvokeAsync("JoinGroup", group, ct);

    public Task SendToGroupAsync(string group, string message, bool acknowledged, CancellationToken ct) => acknowledged
        ? _connection.InvokeAsync("SendMessageToGroup", group, "bench", message, ct)
        : _connection.SendAsync("SendMessageToGroup", group, "bench", message, ct);

    public Task SendToUserAsync(string userId, string message, bool acknowledged, CancellationToken ct) => acknowledged
        ? _connection.InvokeAsync("SendPrivateMessage", userId, message, ct)
        : _connection.SendAsync("SendPrivateMessage", userId, message, ct);

    public ValueTask DisposeAsync() => _connection.DisposeAsync();

    /// <summary>The notification's shape on the wire; only its arrival is counted.</summary>
    public sealed class Notification
    {
        public string? Message { get; set; }

        public DateTime Timestamp { get; set; }
    }
}
