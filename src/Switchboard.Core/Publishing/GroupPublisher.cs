using System.Collections.Concurrent;
using Switchboard.Contracts;
using Switchboard.Core.Diagnostics;
using Switchboard.Core.History;
using Switchboard.Core.Validation;

namespace Switchboard.Core.Publishing;

/// <summary>
/// The one publish path for group messages, whoever sends them (a hub method or the HTTP API):
/// validate, append to history (which assigns the group's next offset and drops duplicate ids),
/// then fan out, in offset order per group. A message is acknowledged once it is durable in
/// history; live delivery is at most once, and recovery from history fills any gap.
/// </summary>
public sealed class GroupPublisher(IHistoryStore history, IGroupFanout fanout, TimeProvider time, SwitchboardMetrics metrics)
{
    private readonly ConcurrentDictionary<string, Lazy<Task<Sequencer>>> _sequencers = new(StringComparer.Ordinal);

    /// <summary>Checks, stores and delivers one message to a group. Throws <see cref="SwitchboardException"/> for bad input.</summary>
    public Task<AppendResult> PublishAsync(string group, string? id, string? senderId, string? senderName,
        string? payload, int maxPayloadLength)
    {
        SwitchboardException.ThrowIf(InputRules.CheckGroupName(group));
        return PublishCheckedAsync(group, id, senderId, senderName, payload, maxPayloadLength);
    }

    /// <summary>
    /// Checks, stores and delivers a private message to one user: their channel
    /// <c>user:{userId}</c>, a group name that only the server may use.
    /// </summary>
    public Task<AppendResult> PublishPrivateAsync(string targetUserId, string? id, string? senderId, string? senderName,
        string? payload, int maxPayloadLength)
    {
        SwitchboardException.ThrowIf(InputRules.CheckUserId(targetUserId));
        return PublishCheckedAsync(InputRules.UserGroup(targetUserId), id, senderId, senderName, payload, maxPayloadLength);
    }

    private async Task<AppendResult> PublishCheckedAsync(string group, string? id, string? senderId, string? senderName,
        string? payload, int maxPayloadLength)
    {
        SwitchboardException.ThrowIf(InputRules.CheckMessage(payload, maxPayloadLength));
        if (id is not null)
        {
            SwitchboardException.ThrowIf(InputRules.CheckMessageId(id));
        }
        Sequencer sequencer;
        AppendResult result;
        long started;
        try
        {
            sequencer = await SequencerFor(group);
            started = time.GetTimestamp();
            // Once handed to the store, the append is awaited to the end whatever the caller does:
            // a committed message the sequencer never heard of would hold back every later one.
            result = await history.AppendAsync(new NewGroupMessage(
                id ?? Guid.NewGuid().ToString("N"), group, senderId, senderName, time.GetUtcNow().UtcDateTime, payload!,
                Idempotent: id is not null));
        }
        catch (Exception e) when (e is not SwitchboardException)
        {
            if (_sequencers.TryGetValue(group, out var lazy) && lazy.IsValueCreated && lazy.Value.IsFaulted)
            {
                _sequencers.TryRemove(new KeyValuePair<string, Lazy<Task<Sequencer>>>(group, lazy)); // a failed position read must not stick
            }
            throw new SwitchboardException(new SwitchboardError(ErrorCodes.HistoryUnavailable,
                "The message could not be stored and was not delivered; retry with the same id."), e);
        }
        if (result.Duplicate)
        {
            metrics.Duplicate();
        }
        else
        {
            metrics.Published(group.StartsWith(InputRules.ReservedUserPrefix, StringComparison.Ordinal), time.GetElapsedTime(started));
            await sequencer.Committed(result.Message, fanout);
        }
        return result;
    }

    private Task<Sequencer> SequencerFor(string group) =>
        _sequencers.GetOrAdd(group, g => new Lazy<Task<Sequencer>>(async () =>
        {
            var position = await history.GetPositionAsync(g);
            return new Sequencer(position.Offset + 1);
        })).Value;

    /// <summary>
    /// Puts one group's committed messages back in offset order. Appends complete on pool
    /// threads in any order; the sequencer holds a message until every earlier offset was
    /// handed to the fan-out, and starts the sends under its lock so their order is fixed.
    /// Created from the store's position before this process appends to the group, so the first
    /// offset it waits for is the first one this process can be handed.
    /// </summary>
    private sealed class Sequencer(long next)
    {
        private readonly SortedDictionary<long, GroupMessage> _waiting = [];
        private long _next = next;

        public Task Committed(GroupMessage message, IGroupFanout fanout)
        {
            List<Task>? sends = null;
            lock (_waiting)
            {
                _waiting[message.Offset] = message;
                while (_waiting.Remove(_next, out var ready))
                {
                    (sends ??= []).Add(fanout.Deliver(ready));
                    _next++;
                }
            }
            return sends is null ? Task.CompletedTask : Task.WhenAll(sends);
        }
    }
}
