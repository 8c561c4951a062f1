using System.Diagnostics;
using Switchboard.Bench.Load;
using Switchboard.Bench.Peers;
using Switchboard.Bench.Report;

namespace Switchboard.Bench.Tests;

public class SequenceWindowTests
{
    [Fact]
    public void NumbersInOrderAreInOrder()
    {
        var window = new SequenceWindow();
        Assert.All(Enumerable.Range(1, 100), i => Assert.Equal(Arrival.InOrder, window.Observe(i)));
        Assert.Equal(100, window.Highest);
    }

    [Fact]
    public void AGapThenTheMissingNumberIsAfterGapThenLate()
    {
        var window = new SequenceWindow();
        Assert.Equal(Arrival.InOrder, window.Observe(1));
        Assert.Equal(Arrival.AfterGap, window.Observe(3));
        Assert.Equal(Arrival.Late, window.Observe(2));
        Assert.Equal(Arrival.InOrder, window.Observe(4));
    }

    [Fact]
    public void ANumberSeenTwiceIsADuplicateWhetherHighestOrBelow()
    {
        var window = new SequenceWindow();
        window.Observe(1);
        window.Observe(2);
        Assert.Equal(Arrival.Duplicate, window.Observe(2));
        Assert.Equal(Arrival.Duplicate, window.Observe(1));
        window.Observe(5);
        window.Observe(4);
        Assert.Equal(Arrival.Duplicate, window.Observe(4));
    }

    [Fact]
    public void AJumpOfMoreThanTheWindowForgetsTheOldOnes()
    {
        var window = new SequenceWindow();
        window.Observe(1);
        Assert.Equal(Arrival.AfterGap, window.Observe(200));
        Assert.Equal(Arrival.Late, window.Observe(150)); // within 64 of 200: new, late
        Assert.Equal(Arrival.Duplicate, window.Observe(150));
        Assert.Equal(Arrival.Late, window.Observe(1)); // too far below to tell: counted late
    }
}

public class DeliveryRunTests
{
    private static readonly long Ms = Stopwatch.Frequency / 1000;

    [Fact]
    public void PayloadsRoundTripAndGarbageIsNot()
    {
        var text = Payload.Create(7, 42, 123456789, 100);
        Assert.Equal(100, text.Length);
        Assert.True(Payload.TryParse(text, out var stream, out var seq, out var ticks));
        Assert.Equal((7, 42L, 123456789L), (stream, seq, ticks));
        Assert.False(Payload.TryParse("hello", out _, out _, out _));
        Assert.False(Payload.TryParse("1|x|3|", out _, out _, out _));
    }

    [Fact]
    public void CountsLossReorderingAndDuplicatesAcrossStreamsAndReceivers()
    {
        // Stream 0 goes to receivers 0 and 1, stream 1 to receiver 2 only.
        var run = new DeliveryRun([2, 1], receiverCount: 3);
        var now = Stopwatch.GetTimestamp();
        var s0 = Enumerable.Range(0, 5).Select(_ => Payload.Create(run.WireStream(0), run.NextSeq(0), now, 40)).ToArray(); // seq 1..5
        var s1 = Enumerable.Range(0, 3).Select(_ => Payload.Create(run.WireStream(1), run.NextSeq(1), now, 40)).ToArray(); // seq 1..3
        Assert.Equal(8, run.Sent);
        Assert.Equal(5 * 2 + 3, run.Expected);

        // Receiver 0: everything in order. Receiver 1: 1, 3, 2, 5 (4 lost), and 3 twice. Receiver 2: 1, 2 (3 lost).
        foreach (var p in s0) run.Arrive(0, p, now + Ms);
        foreach (var i in new[] { 0, 2, 1, 4, 2 }) run.Arrive(1, s0[i], now + Ms);
        run.Arrive(2, s1[0], now + Ms);
        run.Arrive(2, s1[1], now + Ms);
        run.Arrive(2, "not a payload", now);
        run.Arrive(2, Payload.Create(run.WireStream(2), 1, now, 40), now); // a stream this run does not have

        var stats = run.Summarise();
        Assert.Equal(5 + 4 + 2, stats.Delivered);
        Assert.Equal(2, stats.Lost);
        Assert.Equal(1, stats.Reordered);
        Assert.Equal(1, stats.Duplicates);
        Assert.Equal(2, stats.Stray);
        Assert.Equal(2, run.Outstanding);
    }

    [Fact]
    public void ALateMessageOfAnEarlierRunIsAStrayNotADuplicate()
    {
        var earlier = new DeliveryRun([1], receiverCount: 1);
        var now = Stopwatch.GetTimestamp();
        var late = Payload.Create(earlier.WireStream(0), earlier.NextSeq(0), now, 40);
        var run = new DeliveryRun([1], receiverCount: 1);
        run.Arrive(0, Payload.Create(run.WireStream(0), run.NextSeq(0), now, 40), now);
        run.Arrive(0, late, now);
        var stats = run.Summarise();
        Assert.Equal((1L, 0L, 0L, 1L), (stats.Delivered, stats.Duplicates, stats.Reordered, stats.Stray));
    }

    [Fact]
    public void PercentilesComeFromTheTimestampsInThePayloads()
    {
        var run = new DeliveryRun([1], receiverCount: 1);
        var sent = Stopwatch.GetTimestamp();
        // Latencies of 1, 2, ..., 100 ms.
        for (var i = 1; i <= 100; i++) run.Arrive(0, Payload.Create(run.WireStream(0), run.NextSeq(0), sent, 40), sent + i * Ms);
        var stats = run.Summarise();
        Assert.Equal(0, stats.Lost);
        Assert.InRange(stats.P50Ms, 49.9, 50.1);
        Assert.InRange(stats.P99Ms, 98.9, 99.1);
        Assert.InRange(stats.MaxMs, 99.9, 100.1);
        Assert.InRange(stats.MeanMs, 50.4, 50.6);
    }

    [Fact]
    public async Task DrainEndsWhenEverythingArrivedOrNothingMoves()
    {
        var run = new DeliveryRun([1], receiverCount: 1);
        var now = Stopwatch.GetTimestamp();
        var payload = Payload.Create(run.WireStream(0), run.NextSeq(0), now, 40);
        run.NextSeq(0); // a second message that never arrives
        run.Arrive(0, payload, now);
        var clock = Stopwatch.StartNew();
        await run.DrainAsync(quiet: TimeSpan.FromMilliseconds(200), limit: TimeSpan.FromSeconds(10), CancellationToken.None);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), "a drain without progress stops after its quiet period");
        Assert.Equal(1, run.Summarise().Lost);
    }
}

public class ReportTests
{
    [Fact]
    public void PrometheusSamplesAreAddedUpAcrossLabels()
    {
        const string text = """
            # TYPE dotnet_gc_last_collection_heap_size_bytes gauge
            dotnet_gc_last_collection_heap_size_bytes{gc_heap_generation="gen0",otel_scope_name="System.Runtime"} 100 1700000000000
            dotnet_gc_last_collection_heap_size_bytes{gc_heap_generation="gen2",otel_scope_name="System.Runtime"} 250.5
            dotnet_gc_last_collection_heap_size_bytes_other 7
            switchboard_connections 12
            """;
        Assert.Equal(350.5, PeerProcess.SumMetric(text, "dotnet_gc_last_collection_heap_size_bytes"));
        Assert.Equal(12, PeerProcess.SumMetric(text, "switchboard_connections"));
        Assert.Null(PeerProcess.SumMetric(text, "missing"));
    }

    [Fact]
    public void MediansAndSpreadsAreOverRuns()
    {
        var results = new[] { 30.0, 10.0, 20.0 }.Select((v, i) =>
            new PointResult("fanout", "burst", "switchboard", "json", i + 1, new() { [Metrics.DeliveriesPerSecond] = v })).ToList();
        var agg = MarkdownReport.Aggregate(results, Metrics.DeliveriesPerSecond)!;
        Assert.Equal((20.0, 10.0, 30.0, 3), (agg.Median, agg.Min, agg.Max, agg.Count));
        Assert.Null(MarkdownReport.Aggregate(results, Metrics.P99Ms));
    }
}
