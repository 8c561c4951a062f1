using Switchboard.Core.History;

namespace Switchboard.Core.Publishing;

/// <summary>
/// Delivers stored group messages to connected clients. <see cref="GroupPublisher"/> calls
/// <see cref="Deliver"/> with one or more messages of one group, in offset order, and never
/// calls it again for that group before the previous call returned. An implementation must
/// start the sends before it returns (so the order of calls is the order on every connection)
/// and may complete the returned task later. A run of several messages exists so that an
/// implementation can hand them to each connection in one write.
/// </summary>
public interface IGroupFanout
{
    Task Deliver(IReadOnlyList<GroupMessage> messages);
}
