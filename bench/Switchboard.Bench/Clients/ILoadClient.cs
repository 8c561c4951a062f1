namespace Switchboard.Bench.Clients;

/// <summary>The wire protocol a SignalR client speaks.</summary>
internal enum WireProtocol
{
    Json,
    MessagePack,
}

/// <summary>Which endpoint a client connects to: the chat hub (groups), the secure chat hub (users), or the notifications hub (idle, HTTP publish).</summary>
internal enum Endpoint
{
    Chat,
    SecureChat,
    Notifications,
}

/// <summary>
/// One connection of the generator, whatever the server: join a group, send to a group or a
/// user (acknowledged or not), and hand every received message text to <see cref="Received"/>.
/// </summary>
internal interface ILoadClient : IAsyncDisposable
{
    /// <summary>Called with the message text and the Stopwatch timestamp taken as the message was handed to the client's handler.</summary>
    Action<string, long>? Received { get; set; }

    /// <summary>Called for each notification (HTTP publish scenario).</summary>
    Action? Notified { get; set; }

    Task StartAsync(CancellationToken ct);

    Task JoinAsync(string group, CancellationToken ct);

    /// <summary>Sends to a group. Acknowledged: completes when the server finished handling it; otherwise once it is written.</summary>
    Task SendToGroupAsync(string group, string message, bool acknowledged, CancellationToken ct);

    Task SendToUserAsync(string userId, string message, bool acknowledged, CancellationToken ct);
}
