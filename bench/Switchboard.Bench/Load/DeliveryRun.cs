using System.Diagnostics;
using System.Runtime.InteropServices;
using HdrHistogram;

namespace Switchboard.Bench.Load;

/// <summary>
/// The bookkeeping of one measured run: what each stream sent, what each receiver got, and the
/// one-way latency of every delivery. A stream has exactly one sender and a known number of
/// receivers, each of which should get every sequence number once, in order; so the expected
/// deliveries are the sum over streams of sent times receivers, and whatever did not arrive by
/// the end of the drain is lost. Thread-safe: receivers call <see cref="Arrive"/> from their own
/// connections' threads while senders call <see cref="NextSeq"/>.
/// </summary>
internal sealed class DeliveryRun
{
    /// <summary>Latencies are recorded in microseconds, from 1 µs to 10 minutes, to 3 significant digits.</summary>
    public const long HighestMicros = 600_000_000;

    private readonly int[] _receiversPerStream;
    private readonly long[] _sent;
    private readonly Receiver[] _receivers;
    private long _sentTotal;
    private long _expectedTotal;
    private long _unique;
    private long _late;
    private long _duplicates;
    private long _stray;
    private long _errors;
    private long _firstSend;
    private long _lastArrival;

    /// <summary>
    /// Every run numbers its streams from its own base, so a message of an earlier run (or of a
    /// warm-up) that arrives late is a stray here, not a duplicate or a reordering of this run's.
    /// </summary>
    private static int s_nextBase;
    private readonly int _base;

    public DeliveryRun(int[] receiversPerStream, int receiverCount)
    {
        _base = Interlocked.Add(ref s_nextBase, receiversPerStream.Length) - receiversPerStream.Length;
        _receiversPerStream = receiversPerStream;
        _sent = new long[receiversPerStream.Length];
        _receivers = new Receiver[receiverCount];
        for (var i = 0; i < receiverCount; i++) _receivers[i] = new Receiver();
    }

    public LongConcurrentHistogram Latency { get; } = new(1, HighestMicros, 3);

    public int Streams => _sent.Length;

    /// <summary>The number stream <paramref name="index"/> carries on the wire in this run.</summary>
    public int WireStream(int index) => _base + index;

    public long Delivered => Interlocked.Read(ref _unique);

    public long Sent => Interlocked.Read(ref _sentTotal);

    public long Expected => Interlocked.Read(ref _expectedTotal);

    /// <summary>Time since the last new delivery arrived (or since the first send, when none has).</summary>
    public TimeSpan SinceLastArrival
    {
        get
        {
            var last = Math.Max(Interlocked.Read(ref _lastArrival), Interlocked.Read(ref _firstSend));
            return last == 0 ? TimeSpan.Zero : Stopwatch.GetElapsedTime(last);
        }
    }

    /// <summary>Deliveries sent for but not (yet) received.</summary>
    public long Outstanding => Expected - Delivered;

    /// <summary>The next sequence number of a stream (1, 2, 3, ...). Call once per message sent; only the stream's one sender calls it.</summary>
    public long NextSeq(int stream)
    {
        Interlocked.CompareExchange(ref _firstSend, Stopwatch.GetTimestamp(), 0);
        Interlocked.Increment(ref _sentTotal);
        Interlocked.Add(ref _expectedTotal, _receiversPerStream[stream]);
        return Interlocked.Increment(ref _sent[stream]);
    }

    /// <summary>Sends that failed (the server refused or the connection broke); their messages still count as expected.</summary>
    public long Errors => Interlocked.Read(ref _errors);

    public void Failed() => Interlocked.Increment(ref _errors);

    /// <summary>Wakes the receiver's <see cref="Receiver.Signal"/> on each new arrival (the echo scenario waits on it).</summary>
    public SemaphoreSlim Watch(int receiver) => _receivers[receiver].Signal ??= new SemaphoreSlim(0);

    /// <summary>Records one message as it arrives at receiver <paramref name="receiver"/>.</summary>
    public void Arrive(int receiver, ReadOnlySpan<char> payload, long now)
    {
        if (!Payload.TryParse(payload, out var wire, out var seq, out var ticks) || (uint)(wire - _base) >= (uint)_sent.Length ||
            (uint)receiver >= (uint)_receivers.Length)
        {
            Interlocked.Increment(ref _stray);
            return;
        }
        var stream = wire - _base;
        var state = _receivers[receiver];
        Arrival arrival;
        lock (state)
        {
            arrival = CollectionsMarshal.GetValueRefOrAddDefault(state.Windows, stream, out _).Observe(seq);
        }
        if (arrival == Arrival.Duplicate)
        {
            Interlocked.Increment(ref _duplicates);
            return;
        }
        if (arrival == Arrival.Late) Interlocked.Increment(ref _late);
        Interlocked.Increment(ref _unique);
        var micros = (now - ticks) * 1_000_000 / Stopwatch.Frequency;
        Latency.RecordValue(Math.Clamp(micros, 1, HighestMicros));
        // Not Interlocked.Max: a slightly stale maximum only shortens the measured window by a few ticks.
        if (now > Volatile.Read(ref _lastArrival)) Volatile.Write(ref _lastArrival, now);
        state.Signal?.Release();
    }

    /// <summary>Waits until every expected delivery arrived, or nothing arrived for <paramref name="quiet"/>, or <paramref name="limit"/> passed.</summary>
    public async Task DrainAsync(TimeSpan quiet, TimeSpan limit, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        var last = Delivered;
        var lastChange = clock.Elapsed;
        while (Outstanding > 0 && clock.Elapsed < limit)
        {
            await Task.Delay(20, ct);
            var now = Delivered;
            if (now != last) (last, lastChange) = (now, clock.Elapsed);
            else if (clock.Elapsed - lastChange > quiet) break;
        }
    }

    /// <summary>The figures of the run; the rate is deliveries over the time from the first send to the last arrival.</summary>
    public DeliveryStats Summarise()
    {
        var first = Interlocked.Read(ref _firstSend);
        var last = Interlocked.Read(ref _lastArrival);
        var seconds = first == 0 || last <= first ? 0 : (double)(last - first) / Stopwatch.Frequency;
        var delivered = Delivered;
        var latency = Latency;
        var any = latency.TotalCount > 0;
        return new DeliveryStats(
            Sent: Sent,
            Expected: Expected,
            Delivered: delivered,
            Lost: Math.Max(0, Expected - delivered),
            Reordered: Interlocked.Read(ref _late),
            Duplicates: Interlocked.Read(ref _duplicates),
            Stray: Interlocked.Read(ref _stray),
            Errors: Errors,
            Seconds: seconds,
            DeliveriesPerSecond: seconds > 0 ? delivered / seconds : 0,
            P50Ms: any ? latency.GetValueAtPercentile(50) / 1000.0 : 0,
            P99Ms: any ? latency.GetValueAtPercentile(99) / 1000.0 : 0,
            P999Ms: any ? latency.GetValueAtPercentile(99.9) / 1000.0 : 0,
            MaxMs: any ? latency.GetMaxValue() / 1000.0 : 0,
            MeanMs: any ? latency.GetMean() / 1000.0 : 0);
    }

    private sealed class Receiver
    {
        public Dictionary<int, SequenceWindow> Windows { get; } = new();

        public SemaphoreSlim? Signal { get; set; }
    }
}

/// <summary>What one run delivered: counts, the delivery rate and the one-way latency in milliseconds.</summary>
internal sealed record DeliveryStats(long Sent, long Expected, long Delivered, long Lost, long Reordered, long Duplicates, long Stray, long Errors,
    double Seconds, double DeliveriesPerSecond, double P50Ms, double P99Ms, double P999Ms, double MaxMs, double MeanMs);
