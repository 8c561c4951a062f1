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
    /// <summary>
    /// Sequencers kept before the first sweep; after a sweep, twice the number left (at least
    /// this). So the map holds at most about twice the groups with messages in flight, plus this.
    /// </summary>
    internal const int MinSweepAt = 1024;

    private readonly ConcurrentDictionary<string, Sequencer> _sequencers = new(StringComparer.Ordinal);
    private int _count;
    private int _sweepAt = MinSweepAt;
    private int _sweeping;

    /// <summary>Groups with a sequencer now: those published to since the last sweep, and those with messages in flight.</summary>
    internal int SequencerCount => Volatile.Read(ref _count);

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
        var message = new NewGroupMessage(id ?? MessageIds.Next(), group, senderId, senderName,
            time.GetUtcNow().UtcDateTime, payload!, Idempotent: id is not null);
        var started = time.GetTimestamp();
        Sequencer sequencer;
        long ticket;
        Task<AppendResult> append;
        while (!(sequencer = SequencerFor(group)).TryStart(history, message, out ticket, out append))
        {
            // A sweep retired it between the lookup and the start: it has nothing in flight, so
            // a new one takes over the group with no message to keep in order behind.
            Forget(group, sequencer);
        }
        // A store that answered at once (history off) is not batching: deliver on this thread.
        var deliverHere = append.IsCompleted;
        AppendResult result;
        try
        {
            // Once handed to the store, the append is awaited to the end whatever the caller does:
            // its ticket must be settled, or every later message of the group would wait for it.
            result = await append;
        }
        catch (Exception e)
        {
            await sequencer.Settle(ticket, null, deliverHere);
            throw new SwitchboardException(new SwitchboardError(ErrorCodes.HistoryUnavailable,
                "The message could not be stored and was not delivered; retry with the same id."), e);
        }
        if (result.Duplicate)
        {
            metrics.Duplicate();
            await sequencer.Settle(ticket, null, deliverHere);
        }
        else
        {
            metrics.Published(group.StartsWith(InputRules.ReservedUserPrefix, StringComparison.Ordinal), time.GetElapsedTime(started));
            try
            {
                await sequencer.Settle(ticket, result.Message, deliverHere);
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

    private Sequencer SequencerFor(string group)
    {
        if (_sequencers.TryGetValue(group, out var sequencer))
        {
            return sequencer;
        }
        var created = new Sequencer(fanout, metrics);
        sequencer = _sequencers.GetOrAdd(group, created);
        if (ReferenceEquals(sequencer, created) && Interlocked.Increment(ref _count) >= Volatile.Read(ref _sweepAt))
        {
            RetireIdle();
        }
        return sequencer;
    }

    private bool Forget(string group, Sequencer sequencer)
    {
        if (!_sequencers.TryRemove(KeyValuePair.Create(group, sequencer)))
        {
            return false;
        }
        Interlocked.Decrement(ref _count);
        return true;
    }

    /// <summary>
    /// Removes the sequencers of groups with nothing in flight, so a process that publishes to
    /// ever new groups (private channels of ever new users, short-lived rooms) does not keep one
    /// per group it ever saw. Runs when the map reaches its sweep mark, on the publishing thread
    /// that reached it (one sweep at a time); returns how many were removed.
    /// </summary>
    internal int RetireIdle()
    {
        if (Interlocked.Exchange(ref _sweeping, 1) == 1)
        {
            return 0;
        }
        try
        {
            var retired = 0;
            foreach (var (group, sequencer) in _sequencers)
            {
                if (sequencer.TryRetire() && Forget(group, sequencer))
                {
                    retired++;
                }
            }
            Volatile.Write(ref _sweepAt, Math.Max(MinSweepAt, 2 * Volatile.Read(ref _count)));
            return retired;
        }
        finally
        {
            Volatile.Write(ref _sweeping, 0);
        }
    }

    /// <summary>
    /// Keeps one group's deliveries from this process in the order its appends were issued.
    /// Appends start under the issue lock, so each store receives them in ticket order (and
    /// assigns offsets in that order: the SQLite writer queue and a Redis connection are both
    /// first in, first out); they complete on pool threads in any order, and the sequencer holds
    /// a stored message until every earlier ticket was settled (delivered, a duplicate, or
    /// failed). Messages ready in order join the group's outbox, and one pool work item at a time
    /// is the group's deliverer (or the settling thread itself when the store answered at once,
    /// as with history off): it hands the whole outbox to the fan-out in one call (a run),
    /// and queues itself again when more gathered meanwhile. So while one run goes out, the
    /// messages stored meanwhile gather into the next, and a busy group costs one write per
    /// connection per run instead of one per message, and one thread hand-off per run instead
    /// of one per message (measured in docs/benchmarks.md). A publisher's acknowledgement waits
    /// until its message's run was handed over (its continuation runs inline on the deliverer's
    /// thread), which keeps publishers from running ahead of the fan-out. The issue lock is apart
    /// so that issuing the next append never waits for a fan-out in progress. Tickets are local,
    /// so processes sharing a store never wait for each other; subscribers put messages from
    /// several processes in offset order themselves (gap detection, docs/protocol.md).
    /// </summary>
    private sealed class Sequencer(IGroupFanout fanout, SwitchboardMetrics metrics) : IThreadPoolWorkItem
    {
        /// <summary>Most messages handed to the fan-out in one call; a longer outbox goes in several.</summary>
        private const int MaxRun = 64;

        private readonly Lock _issueLock = new();
        private readonly Lock _lock = new();
        private readonly Dictionary<long, Entry> _settled = [];
        private List<Entry> _outbox = [];
        private bool _delivering;
        private long _issued;
        private long _next;
        // Set once, under both locks, by TryRetire: this sequencer issues no more tickets.
        private bool _retired;

        private readonly record struct Entry(GroupMessage? Message, TaskCompletionSource? Done);

        /// <summary>Issues a ticket and starts the append; false when the sequencer was retired (nothing started).</summary>
        public bool TryStart(IHistoryStore history, NewGroupMessage message, out long ticket, out Task<AppendResult> append)
        {
            lock (_issueLock)
            {
                if (_retired)
                {
                    ticket = 0;
                    append = null!;
                    return false;
                }
                ticket = _issued++;
                try
                {
                    append = history.AppendAsync(message).AsTask();
                }
                catch (Exception e)
                {
                    append = Task.FromException<AppendResult>(e);
                }
                return true;
            }
        }

        /// <summary>
        /// Retires the sequencer if nothing is in flight: every ticket issued was settled and
        /// handed to the fan-out, and no deliverer runs. Its group's next message then starts a
        /// new sequencer, whose first run can only begin after this one's last.
        /// </summary>
        public bool TryRetire()
        {
            lock (_issueLock)
            {
                lock (_lock)
                {
                    if (_retired || _issued != _next || _delivering || _outbox.Count > 0)
                    {
                        return false;
                    }
                    _retired = true;
                    return true;
                }
            }
        }

        /// <summary>
        /// Settles a ticket with its stored message, or null when there is nothing to deliver.
        /// The task completes when the message's sends completed (at once for null), and fails
        /// when the fan-out failed. With <paramref name="deliverHere"/> (the store answered at
        /// once, so nothing gathers meanwhile) the run starts on the calling thread instead of a
        /// queued deliverer: one thread hand-off less per message with history off.
        /// </summary>
        public Task Settle(long ticket, GroupMessage? message, bool deliverHere)
        {
            // The acknowledgement continues inline on the deliverer's thread once the run was handed over.
            var done = message is null ? null : new TaskCompletionSource();
            List<Entry>? run = null;
            lock (_lock)
            {
                _settled[ticket] = new Entry(message, done);
                while (_settled.Remove(_next, out var ready))
                {
                    if (ready.Message is not null)
                    {
                        _outbox.Add(ready);
                    }
                    _next++;
                }
                if (_delivering || _outbox.Count == 0)
                {
                    return done?.Task ?? Task.CompletedTask;
                }
                _delivering = true;
                if (deliverHere)
                {
                    run = _outbox;
                    _outbox = [];
                }
            }
            if (run is not null)
            {
                HandOver(run);
            }
            else
            {
                // Delivered on a pool thread, so that a store completing many appends in a row on
                // one thread (SqliteHistoryStore does) settles them all into one run. Queued
                // locally: this thread (or an idle one) takes it next, not behind the transport
                // sends of the last run.
                ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: true);
            }
            return done?.Task ?? Task.CompletedTask;
        }

        /// <summary>
        /// Delivers one run, then queues the deliverer again if more gathered meanwhile (behind
        /// other work, so one busy group does not hold a pool thread).
        /// </summary>
        private void HandOver(List<Entry> run)
        {
            for (var start = 0; start < run.Count; start += MaxRun)
            {
                Hand(run, start, Math.Min(MaxRun, run.Count - start), fanout, metrics);
            }
            lock (_lock)
            {
                if (_outbox.Count == 0)
                {
                    _delivering = false;
                    return;
                }
            }
            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
        }

        void IThreadPoolWorkItem.Execute()
        {
            List<Entry> run;
            lock (_lock)
            {
                run = _outbox;
                _outbox = [];
            }
            HandOver(run);
        }

        private static void Hand(List<Entry> run, int start, int count, IGroupFanout fanout, SwitchboardMetrics metrics)
        {
            metrics.Run(count);
            var messages = new GroupMessage[count];
            for (var i = 0; i < count; i++)
            {
                messages[i] = run[start + i].Message!;
            }
            Task send;
            try
            {
                send = fanout.Deliver(messages);
            }
            catch (Exception e)
            {
                send = Task.FromException(e); // never leave the loop with the outbox unsettled
            }
            if (send.IsCompleted)
            {
                Complete(send, run, start, count);
            }
            else
            {
                var slice = run.GetRange(start, count);
                send.ContinueWith(static (t, state) => Complete(t, (List<Entry>)state!, 0, ((List<Entry>)state!).Count), slice,
                    CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }
        }

        private static void Complete(Task send, List<Entry> run, int start, int count)
        {
            for (var i = start; i < start + count; i++)
            {
                var done = run[i].Done!;
                if (send.IsCompletedSuccessfully)
                {
                    done.TrySetResult();
                }
                else
                {
                    done.TrySetException(send.Exception?.InnerExceptions ?? [new OperationCanceledException()]);
                }
            }
        }
    }
}
