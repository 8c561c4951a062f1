using System.Text.Json.Serialization;

namespace Switchboard.Core.Cluster;

/// <summary>
/// Something every process must do for the connections it holds: the HTTP API (on any process)
/// sends it, and each process applies it to its own connections.
/// </summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "type")]
[JsonDerivedType(typeof(CloseConnectionCommand), "close-connection")]
[JsonDerivedType(typeof(CloseUserCommand), "close-user")]
[JsonDerivedType(typeof(UserGroupCommand), "user-group")]
[JsonDerivedType(typeof(ConnectionsFoundReply), "connections-found")]
public abstract record ClusterCommand;

/// <summary>
/// Close one connection with a close reason. With <see cref="ReplyTo"/>, every process that
/// receives it answers with a <see cref="ConnectionsFoundReply"/>: 1 when it holds the connection,
/// 0 when not, so the sender learns at once that the connection exists somewhere (anonymous
/// connections are in no shared store) or nowhere.
/// </summary>
public sealed record CloseConnectionCommand(string ConnectionId, string Reason) : ClusterCommand
{
    public string? ReplyTo { get; init; }
}

/// <summary>
/// Close every connection of a user with a close reason. With <see cref="ReplyTo"/>, every process
/// that receives it answers with a <see cref="ConnectionsFoundReply"/> saying how many it holds (0 included).
/// </summary>
public sealed record CloseUserCommand(string UserId, string Reason) : ClusterCommand
{
    public string? ReplyTo { get; init; }
}

/// <summary>
/// The answer of one process to a close sent with a reply id: it found <paramref name="Count"/> of
/// the connections (possibly none) and is closing them.
/// </summary>
public sealed record ConnectionsFoundReply(string RequestId, int Count) : ClusterCommand;

/// <summary>A user-level membership was added (<see cref="Added"/>) or removed: apply it to the user's open connections.</summary>
public sealed record UserGroupCommand(string UserId, string Group, bool Added) : ClusterCommand;

/// <summary>
/// Carries <see cref="ClusterCommand"/>s to every process, this one included. In one process
/// (<see cref="LocalClusterBus"/>) a send runs the handlers before it completes; across processes
/// (Redis pub/sub) it completes once the command was handed to the broker, and each process runs
/// its handlers when the command arrives.
/// </summary>
public interface IClusterBus
{
    /// <summary>
    /// Sends <paramref name="command"/> to every process; returns how many processes that answer
    /// commands sent with a reply id it reached, this one included, as far as the transport can
    /// tell. A sender that asked for answers waits for that many, at most <see cref="AnswerTimeout"/>.
    /// </summary>
    Task<int> SendAsync(ClusterCommand command, CancellationToken cancellationToken = default);

    /// <summary>
    /// How long a sender waits for the answers of the processes a command reached. Zero when every
    /// handler has run by the time <see cref="SendAsync"/> completes (one process), so an answer
    /// that has not come by then never will.
    /// </summary>
    TimeSpan AnswerTimeout { get; }

    /// <summary>Registers the handler this process runs for every command. Call once, at start-up.</summary>
    void OnCommand(Func<ClusterCommand, Task> handler);

    /// <summary>
    /// Raised when this process receives commands again after an interruption during which
    /// commands sent meanwhile were missed (never for the single-process bus): state the commands
    /// maintain should be read again from where it is stored.
    /// </summary>
    event Action? Resumed;
}

/// <summary>The single-process bus: commands go straight to the handlers.</summary>
public sealed class LocalClusterBus : IClusterBus
{
    private readonly List<Func<ClusterCommand, Task>> _handlers = [];

    public TimeSpan AnswerTimeout => TimeSpan.Zero;

    /// <summary>Runs the handlers, one after the other; the command reached this process, so 1.</summary>
    public async Task<int> SendAsync(ClusterCommand command, CancellationToken cancellationToken = default)
    {
        Func<ClusterCommand, Task>[] handlers;
        lock (_handlers) handlers = [.. _handlers];
        foreach (var handler in handlers)
        {
            await handler(command);
        }
        return 1;
    }

    public void OnCommand(Func<ClusterCommand, Task> handler)
    {
        lock (_handlers) _handlers.Add(handler);
    }

    /// <summary>Never raised: in one process no command can be missed.</summary>
    public event Action? Resumed
    {
        add { }
        remove { }
    }
}
