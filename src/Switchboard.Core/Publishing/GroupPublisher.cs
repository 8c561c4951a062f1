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
            await sequencer.Settle(ticket, null, this);
            throw new SwitchboardException(new SwitchboardError(ErrorCodes.HistoryUnavailable,
                "The message could not be stored and was not delivered; retry with the same id."), e);
        }
        if (result.Duplicate)
        {
            metrics.Duplicate();
            await sequencer.Settle(ticket, null, this);
        }
        else
        {
            metrics.Published(group.StartsWith(InputRules.ReservedUserPrefix, StringComparison.Ordinal), time.GetElapsedTime(started));
            // Acknowledged once durable and its fan-out started (in offset order), not finished:
            // live delivery is at most once, and a subscriber that misses a message recovers it
            // from history when it sees the next offset or reconnects. Waiting for the start keeps
            // a publisher from running ahead of the fan-out.
            await sequencer.Settle(ticket, result.Message, this);
        }
        return result;
    }

    /// <summary>Starts one message's fan-out; a failure (now or later) is counted, never thrown.</summary>
    private void Deliver(GroupMessage message)
    {
        Task send;
        try
        {
            send = fanout.Deliver(message);
        }
        catch (Exception)
        {
            metrics.DeliveryFailed();
            return;
        }
        if (send.IsCompletedSuccessfully)
        {
            return;
        }
        _ = send.ContinueWith(static (t, state) =>
            {
                if (!t.IsCompletedSuccessfully)
                {
                    ((SwitchboardMetrics)state!).DeliveryFailed();
                }
            }, metrics, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>
    /// Keeps one group's deliveries from this process in the order its appends were issued.
    /// Appends start under the issue lock, so each store receives them in ticket order (and
    /// assigns offsets in that order: the SQLite writer queue and a Redis connection are both
    /// first in, first out); they complete on pool threads in any order. A settled ticket (stored,
    /// a duplicate, or failed) is parked until every earlier one is settled; then one thread at a
    /// time, the drainer, starts the fan-outs in ticket order, outside any lock. The others await
    /// (never block on) the start of their own message's fan-out, and the issue of a ticket never
    /// waits for a fan-out. Tickets are local, so processes sharing a store never wait for each
    /// other; subscribers put messages from several processes in offset order themselves (gap
    /// detection, docs/protocol.md).
    /// </summary>
    private sealed class Sequencer
    {
        private const int MaxInline = 8;

        private readonly Lock _issueLock = new();
        private readonly Lock _settleLock = new();
        private readonly Dictionary<long, Entry> _settled = [];
        private readonly Queue<Entry> _ready = new();
        private long _issued;
        private long _next;
        private bool _draining;

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

        /// <summary>
        /// Settles a ticket with its stored message, or null when there is nothing to deliver;
        /// completes once that message's fan-out has started.
        /// </summary>
        public Task Settle(long ticket, GroupMessage? message, GroupPublisher publisher)
        {
            var own = new Entry(message);
            lock (_settleLock)
            {
                _settled[ticket] = own;
                while (_settled.Remove(_next, out var entry))
                {
                    if (entry.Message is not null)
                    {
                        _ready.Enqueue(entry);
                    }
                    _next++;
                }
                if (_draining || _ready.Count == 0)
                {
                    // Another thread delivers what is queued, or this ticket waits for an earlier one.
                    return message is null ? Task.CompletedTask : own.Wait();
                }
                _draining = true;
            }
            Drain(publisher);
            lock (_settleLock)
            {
                return message is null || own.Delivered ? Task.CompletedTask : own.Wait();
            }
        }

        /// <summary>
        /// Starts the queued fan-outs in order. The settling thread starts a few inline (the
        /// common case: its own message) and hands a longer backlog to the thread pool.
        /// </summary>
        private void Drain(GroupPublisher publisher)
        {
            Entry? done = null;
            for (var inline = 0; ; inline++)
            {
                Entry next;
                TaskCompletionSource? waiter = null;
                lock (_settleLock)
                {
                    if (done is not null)
                    {
                        done.Delivered = true;
                        waiter = done.Waiter;
                    }
                    if (_ready.Count == 0)
                    {
                        _draining = false;
                        next = null!;
                    }
                    else if (inline == MaxInline)
                    {
                        // Still the drainer: a pool thread carries on from here, in order.
                        ThreadPool.UnsafeQueueUserWorkItem(static state => state.Sequencer.Drain(state.Publisher),
                            (Sequencer: this, Publisher: publisher), preferLocal: false);
                        next = null!;
                    }
                    else
                    {
                        next = _ready.Dequeue();
                    }
                }
                waiter?.TrySetResult();
                if (next is null)
                {
                    return;
                }
                publisher.Deliver(next.Message!);
                done = next;
            }
        }

        /// <summary>One settled ticket; its fields change only under the settle lock.</summary>
        private sealed class Entry(GroupMessage? message)
        {
            public GroupMessage? Message { get; } = message;

            public bool Delivered { get; set; }

            public TaskCompletionSource? Waiter { get; private set; }

            public Task Wait() => (Waiter ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
        }
    }
}
