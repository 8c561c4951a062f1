using Switchboard.Core.History;

namespace Switchboard.Core.Publishing;

/// <summary>
/// Delivers stored group messages to connected clients. <see cref="GroupPublisher"/> calls
/// <see cref="Deliver"/> one message at a time, in offset order per group; an implementation
/// must start the sends before it returns (so the order of calls is the order on every
/// connection) and may complete the returned task later.
/// </summary>
public interface IGroupFanout
{
    Task Deliver(GroupMessage message);
}
