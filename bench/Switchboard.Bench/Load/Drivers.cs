using System.Diagnostics;
using System.Threading.Channels;
using Switchboard.Bench.Clients;

namespace Switchboard.Bench.Load;

/// <summary>
/// One flow of messages: its single sender (a publisher index), where it goes (a group or a user
/// id) and how many receivers should get each message.
/// </summary>
internal sealed record Flow(int Publisher, string Target, int Receivers);

/// <summary>How the publishers send: to groups or to users.</summary>
internal delegate Task Send(ILoadClient publisher, string target, string payload, bool acknowledged, CancellationToken ct);

/// <summary>
/// The ways the generator sends load. Every loop is bounded in time, and in count through the
/// cap on deliveries in flight; every network wait has a timeout.
/// </summary>
internal static class Drivers
{
    /// <summary>Longest wait for any one send or acknowledgement.</summary>
    public static readonly TimeSpan SendTimeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Burst, closed loop: each publisher sends to its streams in turn as fast as its
    /// acknowledgements come back, with up to <paramref name="window"/> acknowledged sends in
    /// flight (they are started in order, and both SignalR's client and ours write them in the
    /// order started), for <paramref name="duration"/>; all publishers pause while more than
    /// <paramref name="maxOutstanding"/> deliveries are in flight, so a server that queues
    /// without back-pressure cannot run the machine out of memory.
    /// </summary>
    public static async Task BurstAsync(DeliveryRun run, IReadOnlyList<ILoadClient> publishers, IReadOnlyList<Flow> streams, Send send,
        int payloadLength, TimeSpan duration, long maxOutstanding, int window = 8)
    {
        var clock = Stopwatch.StartNew();
        var byPublisher = streams.Select((s, i) => (s, i)).GroupBy(x => x.s.Publisher).ToDictionary(g => g.Key, g => g.ToArray());
        await Task.WhenAll(byPublisher.Select(pair => Task.Run(async () =>
        {
            var publisher = publishers[pair.Key];
            var mine = pair.Value;
            var errors = 0;
            var inFlight = new Queue<Task>(window);
            async Task SendOne(string target, string payload)
            {
                using var timeout = new CancellationTokenSource(SendTimeout);
                try
                {
                    await send(publisher, target, payload, acknowledged: true, timeout.Token);
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    run.Failed();
                    Interlocked.Increment(ref errors);
                }
            }
            for (var k = 0; clock.Elapsed < duration && Volatile.Read(ref errors) < 10;)
            {
                if (inFlight.Count >= window) await inFlight.Dequeue();
                if (run.Outstanding > maxOutstanding)
                {
                    await Task.Delay(1);
                    continue;
                }
                var (stream, index) = mine[k++ % mine.Length];
                var seq = run.NextSeq(index);
                inFlight.Enqueue(SendOne(stream.Target, Payload.Create(run.WireStream(index), seq, Stopwatch.GetTimestamp(), payloadLength)));
            }
            await Task.WhenAll(inFlight);
        })));
    }

    /// <summary>
    /// Fixed rate, open loop: message i is due at start + i / rate and carries that due time as
    /// its timestamp, so a server (or generator) that falls behind shows as latency instead of
    /// silently lowering the rate. Messages go to the streams in turn; each publisher sends its
    /// own in order without waiting for acknowledgements. Stops early (and says so) when more
    /// than <paramref name="maxOutstanding"/> deliveries are in flight.
    /// </summary>
    /// <returns>False when the run was stopped early because deliveries fell too far behind.</returns>
    public static async Task<bool> FixedRateAsync(DeliveryRun run, IReadOnlyList<ILoadClient> publishers, IReadOnlyList<Flow> streams, Send send,
        int payloadLength, double messagesPerSecond, TimeSpan duration, long maxOutstanding)
    {
        var queues = publishers.Select(_ => Channel.CreateUnbounded<(string Target, string Payload)>(new() { SingleReader = true, SingleWriter = true })).ToArray();
        var senders = publishers.Select((publisher, p) => Task.Run(async () =>
        {
            var errors = 0;
            await foreach (var (target, payload) in queues[p].Reader.ReadAllAsync())
            {
                if (errors >= 10) continue; // keep draining the queue so the scheduler never blocks
                using var timeout = new CancellationTokenSource(SendTimeout);
                try
                {
                    await send(publisher, target, payload, acknowledged: false, timeout.Token);
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    run.Failed();
                    errors++;
                }
            }
        })).ToArray();

        var sustained = true;
        var total = (long)Math.Round(messagesPerSecond * duration.TotalSeconds);
        var start = Stopwatch.GetTimestamp();
        var ticksPerMessage = Stopwatch.Frequency / messagesPerSecond;
        long i = 0;
        while (i < total)
        {
            var elapsed = Stopwatch.GetElapsedTime(start);
            if (elapsed > duration + TimeSpan.FromSeconds(5)) break; // the generator itself could not keep up
            var due = Math.Min(total, (long)(elapsed.TotalSeconds * messagesPerSecond) + 1);
            for (; i < due; i++)
            {
                var index = (int)(i % streams.Count);
                var stream = streams[index];
                var seq = run.NextSeq(index);
                var dueTicks = start + (long)(i * ticksPerMessage);
                queues[stream.Publisher].Writer.TryWrite((stream.Target, Payload.Create(run.WireStream(index), seq, dueTicks, payloadLength)));
            }
            if (run.Outstanding > maxOutstanding)
            {
                sustained = false;
                break;
            }
            await Task.Delay(1);
        }
        foreach (var queue in queues) queue.Writer.Complete();
        await Task.WhenAll(senders).WaitAsync(TimeSpan.FromSeconds(60));
        return sustained;
    }

    /// <summary>
    /// Request/response, closed loop: each client sends to its own stream (a group only it is
    /// in) and waits for its message to come back before sending the next. The recorded latency
    /// is the round trip.
    /// </summary>
    public static async Task EchoAsync(DeliveryRun run, IReadOnlyList<ILoadClient> clients, IReadOnlyList<Flow> streams, Send send,
        int payloadLength, TimeSpan duration)
    {
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(clients.Select((client, i) => Task.Run(async () =>
        {
            var arrived = run.Watch(i);
            var errors = 0;
            while (clock.Elapsed < duration && errors < 10)
            {
                var seq = run.NextSeq(i);
                var payload = Payload.Create(run.WireStream(i), seq, Stopwatch.GetTimestamp(), payloadLength);
                using var timeout = new CancellationTokenSource(SendTimeout);
                try
                {
                    await send(client, streams[i].Target, payload, acknowledged: false, timeout.Token);
                    if (!await arrived.WaitAsync(SendTimeout)) errors++;
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    run.Failed();
                    errors++;
                }
            }
        })));
    }

    /// <summary>
    /// Opens <paramref name="count"/> connections, <paramref name="parallel"/> at a time, each
    /// bounded by a timeout; stops at the first failure or at <paramref name="limit"/>.
    /// </summary>
    /// <returns>The connections opened, in index order, and the first failure if any.</returns>
    public static async Task<(List<T> Opened, Exception? Failure, TimeSpan Elapsed)> ConnectAsync<T>(int first, int count, int parallel,
        Func<int, CancellationToken, Task<T>> connect, TimeSpan limit, Action<int>? progress = null)
    {
        var opened = new T[count];
        var done = new bool[count];
        Exception? failure = null;
        var next = -1;
        var connected = 0;
        var clock = Stopwatch.StartNew();
        using var stop = new CancellationTokenSource(limit);
        await Task.WhenAll(Enumerable.Range(0, Math.Min(parallel, count)).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var i = Interlocked.Increment(ref next);
                if (i >= count) return;
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stop.Token);
                timeout.CancelAfter(TimeSpan.FromSeconds(30));
                try
                {
                    opened[i] = await connect(first + i, timeout.Token);
                    done[i] = true;
                    progress?.Invoke(Interlocked.Increment(ref connected));
                }
                catch (Exception e)
                {
                    Interlocked.CompareExchange(ref failure, e, null);
                    stop.Cancel();
                }
            }
        })));
        if (failure is null && clock.Elapsed >= limit) failure = new TimeoutException($"connecting took longer than {limit.TotalSeconds:N0} s");
        var list = new List<T>(count);
        for (var i = 0; i < count; i++) if (done[i]) list.Add(opened[i]);
        return (list, failure, clock.Elapsed);
    }
}
