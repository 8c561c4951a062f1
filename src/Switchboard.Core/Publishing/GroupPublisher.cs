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
    private readonly ConcurrentDictionary<string, Sequencer> _sequencers = new(StringComparer.Ordinal);

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
        var sequencer = _sequencers.GetOrAdd(group, static _ => new Sequencer());
        var message = new NewGroupMessage(id ?? Guid.NewGuid().ToString("N"), group, senderId, senderName,
            time.GetUtcNow().UtcDateTime, payload!, Idempotent: id is not null);
        var started = time.GetTimestamp();
        var (ticket, append) = sequencer.Start(history, message);
        AppendResult result;
        try
        {
            // Once handed to the store, the append is awaited to the end whatever the caller does:
            // its ticket must be settled, or every later message of the group would wait for it.
            result = await append;
        }
        catch (Exception e)
        {
            await sequencer.Settle(ticket, null, fanout);
            throw new SwitchboardException(new SwitchboardError(ErrorCodes.HistoryUnavailable,
                "The message could not be stored and was not delivered; retry with the same id."), e);
        }
        if (result.Duplicate)
        {
            metrics.Duplicate();
            await sequencer.Settle(ticket, null, fanout);
        }
        else
        {
            metrics.Published(group.StartsWith(InputRules.ReservedUserPrefix, StringComparison.Ordinal), time.GetElapsedTime(started));
            try
            {
                await sequencer.Settle(ticket, result.Message, fanout);
            }
            catch (Exception)
            {
                // The message is stored and acknowledged; live delivery is at most once (for
                // example the backplane is reconnecting), and subscribers recover it from history
                // when they see the next offset or reconnect.
                metrics.DeliveryFailed();
            }
        }
        return result;
    }

    /// <summary>
    /// Keeps one group's deliveries from this process in the order its appends were issued.
    /// Appends start under the issue lock, so each store receives them in ticket order (and
    /// assigns offsets in that order: the SQLite writer queue and a Redis connection are both
    /// first in, first out); they complete on pool threads in any order, and the sequencer holds
    /// a stored message until every earlier ticket was settled (delivered, a duplicate, or
    /// failed), then starts the sends under its delivery lock so their order is fixed. The two
    /// locks are apart so that issuing the next append never waits for a fan-out in progress.
    /// The settling thread starts the fan-out itself and the publisher's acknowledgement waits for
    /// it: measured (docs/benchmarks.md), that keeps the fan-outs of a busy group back to back,
    /// and beats handing them to a separate drainer that lets publishers run ahead. Tickets are
    /// local, so processes sharing a store never wait for each other; subscribers put messages
    /// from several processes in offset order themselves (gap detection, docs/protocol.md).
    /// </summary>
    private sealed class Sequencer
    {
        private readonly Lock _issueLock = new();
        private readonly Lock _lock = new();
        private readonly Dictionary<long, GroupMessage?> _settled = [];
        private long _issued;
        private long _next;

        public (long Ticket, Task<AppendResult> Append) Start(IHistoryStore history, NewGroupMessage message)
        {
            lock (_issueLock)
            {
                var ticket = _issued++;
                Task<AppendResult> append;
                try
                {
                    append = history.AppendAsync(message).AsTask();
                }
                catch (Exception e)
                {
                    append = Task.FromException<AppendResult>(e);
                }
                return (ticket, append);
            }
        }

        /// <summary>Settles a ticket with its stored message, or null when there is nothing to deliver.</summary>
        public Task Settle(long ticket, GroupMessage? message, IGroupFanout fanout)
        {
            List<Task>? sends = null;
            lock (_lock)
            {
                _settled[ticket] = message;
                while (_settled.Remove(_next, out var ready))
                {
                    if (ready is not null)
                    {
                        Task send;
                        try
                        {
                            send = fanout.Deliver(ready);
                        }
                        catch (Exception e)
                        {
                            send = Task.FromException(e); // never leave the loop with the ticket unsettled
                        }
                        (sends ??= []).Add(send);
                    }
                    _next++;
                }
            }
            return sends is null ? Task.CompletedTask : Task.WhenAll(sends);
        }
    }
}
