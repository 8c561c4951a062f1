using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Core.Diagnostics;
using Switchboard.Core.History;
using Switchboard.Core.Publishing;

namespace Switchboard.Core.Tests;

/// <summary>
/// The publish path's ordering and acknowledgement rules, with a store whose appends complete
/// when the test says so: fan-outs start in the order appends were issued whatever order the
/// store finishes them in, an acknowledgement comes once the message is stored and handed to the
/// fan-out, and a failed fan-out is counted, not thrown at the publisher.
/// </summary>
public sealed class GroupPublisherTests : IDisposable
{
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().AddSingleton<SwitchboardMetrics>().BuildServiceProvider();

    public void Dispose() => _services.Dispose();

    /// <summary>Appends wait for the test to release them; offsets are assigned in call order, as the real stores do.</summary>
    internal sealed class GatedStore : IHistoryStore
    {
        private long _offset;
        public ConcurrentQueue<TaskCompletionSource> Gates { get; } = new();
        public List<TaskCompletionSource> Issued { get; } = [];

        public ValueTask<AppendResult> AppendAsync(NewGroupMessage message, CancellationToken cancellationToken = default)
        {
            var offset = Interlocked.Increment(ref _offset);
            var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (Issued) Issued.Add(gate);
            return new ValueTask<AppendResult>(gate.Task.ContinueWith(_ => new AppendResult(
                new GroupMessage(message.Id, message.Group, offset, "e", message.SenderId, message.SenderName, message.Timestamp, message.Payload),
                Duplicate: false), TaskScheduler.Default));
        }

        public ValueTask<StreamPosition> GetPositionAsync(string group, CancellationToken cancellationToken = default) => new(new StreamPosition(_offset, "e"));

        public ValueTask<HistoryPage> ReadAsync(string group, long afterOffset, int limit, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();

        public ValueTask<int> TrimAsync(CancellationToken cancellationToken = default) => new(0);
    }

    /// <summary>Records the order of fan-out starts and the runs they came in; each fan-out's task is whatever the test hands out.</summary>
    private sealed class RecordingFanout(Func<IReadOnlyList<GroupMessage>, Task> result) : IGroupFanout
    {
        public List<long> Started { get; } = [];
        public List<int> Runs { get; } = [];

        public Task Deliver(IReadOnlyList<GroupMessage> messages)
        {
            lock (Started)
            {
                Started.AddRange(messages.Select(m => m.Offset));
                Runs.Add(messages.Count);
            }
            return result(messages);
        }
    }

    private GroupPublisher Publisher(IHistoryStore store, IGroupFanout fanout) =>
        new(store, fanout, TimeProvider.System, _services.GetRequiredService<SwitchboardMetrics>());

    [Fact]
    public async Task FanOutsStartInTheOrderAppendsWereIssuedWhateverOrderTheyComplete()
    {
        var store = new GatedStore();
        var fanout = new RecordingFanout(_ => Task.CompletedTask);
        var publisher = Publisher(store, fanout);

        var publishes = Enumerable.Range(1, 20).Select(i => publisher.PublishAsync("g", null, "u", "U", $"m{i}", 100)).ToList();
        Assert.Equal(20, store.Issued.Count);
        // The store finishes the appends last first: nothing may be delivered before offset 1.
        for (var i = 19; i >= 1; i--)
        {
            store.Issued[i].SetResult();
        }
        await Task.Delay(50); // give a wrong implementation the chance to deliver early
        lock (fanout.Started) Assert.Empty(fanout.Started);
        store.Issued[0].SetResult();

        var acks = await Task.WhenAll(publishes).DefaultTimeout();
        Assert.Equal(Enumerable.Range(1, 20).Select(i => (long)i), acks.Select(a => a.Message.Offset));
        lock (fanout.Started) Assert.Equal(Enumerable.Range(1, 20).Select(i => (long)i), fanout.Started);
    }

    [Fact]
    public async Task AnAcknowledgementComesOnceStoredAndHandedToTheFanOut()
    {
        var store = new GatedStore();
        var handedOver = new TaskCompletionSource();
        var fanout = new RecordingFanout(_ => handedOver.Task);
        var publisher = Publisher(store, fanout);

        var publish = publisher.PublishAsync("g", null, "u", "U", "hello", 100);
        Assert.False(publish.IsCompleted); // not stored yet
        store.Issued[0].SetResult();
        await TestTimeouts.Eventually(() => { lock (fanout.Started) return Task.FromResult(fanout.Started.Count == 1); }, "the fan-out starts");
        Assert.False(publish.IsCompleted); // the server's fan-out (SlowConsumerGuard) hands over without waiting for the sockets
        handedOver.SetResult();

        Assert.Equal(1, (await publish.DefaultTimeout()).Message.Offset);
    }

    [Fact]
    public async Task AFailedFanOutIsCountedAndTheMessageStaysAcknowledged()
    {
        using var failures = new Recorded<long>("switchboard.delivery.failures", _services.GetRequiredService<IMeterFactory>());
        var store = new GatedStore();
        var calls = 0;
        var fanout = new RecordingFanout(_ => Interlocked.Increment(ref calls) == 1
            ? throw new InvalidOperationException("the backplane is down")
            : Task.FromException(new InvalidOperationException("the backplane is down")));
        var publisher = Publisher(store, fanout);

        var first = publisher.PublishAsync("g", null, "u", "U", "one", 100);
        var second = publisher.PublishAsync("g", null, "u", "U", "two", 100);
        store.Issued[0].SetResult();
        store.Issued[1].SetResult();

        Assert.Equal(1, (await first.DefaultTimeout()).Message.Offset);
        Assert.Equal(2, (await second.DefaultTimeout()).Message.Offset);
        // One publisher may settle both (the second waited for the first): at least one count.
        await TestTimeouts.Eventually(() => Task.FromResult(failures.Values.Sum() >= 1), "the failed fan-outs are counted");
    }

    [Fact]
    public async Task MessagesStoredWhileAFanOutIsInProgressGoOutTogetherInTheNextRun()
    {
        using var published = new Recorded<long>("switchboard.messages.published", _services.GetRequiredService<IMeterFactory>());
        var store = new GatedStore();
        using var firstRunBusy = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var fanout = new RecordingFanout(messages =>
        {
            if (messages[0].Offset == 1)
            {
                // The first run is still being written to the connections when the next five are stored.
                firstRunBusy.Set();
                Assert.True(release.Wait(TestTimeouts.Default));
            }
            return Task.CompletedTask;
        });
        var publisher = Publisher(store, fanout);

        var first = publisher.PublishAsync("g", null, "u", "U", "m1", 100);
        store.Issued[0].SetResult();
        Assert.True(firstRunBusy.Wait(TestTimeouts.Default));
        var next = Enumerable.Range(2, 5).Select(i => publisher.PublishAsync("g", null, "u", "U", $"m{i}", 100)).ToList();
        for (var i = 1; i <= 5; i++)
        {
            store.Issued[i].SetResult();
        }
        // Each of the five is stored (counted just before it settles) and waits behind the run in progress.
        await TestTimeouts.Eventually(() => Task.FromResult(published.Values.Sum() == 6), "all six are stored");
        await Task.Delay(50); // let the last of them settle after being counted
        Assert.All(next.Prepend(first), p => Assert.False(p.IsCompleted));
        release.Set();

        var acks = await Task.WhenAll(next.Prepend(first)).DefaultTimeout();
        Assert.Equal(Enumerable.Range(1, 6).Select(i => (long)i), acks.Select(a => a.Message.Offset));
        lock (fanout.Started)
        {
            Assert.Equal(Enumerable.Range(1, 6).Select(i => (long)i), fanout.Started);
            Assert.Equal([1, 5], fanout.Runs);
        }
    }
}

/// <summary>
/// Idle groups' sequencers are dropped, so a process that publishes to ever new groups does not
/// keep one per group forever, and dropping one never breaks a group's order.
/// </summary>
public sealed class GroupPublisherRetirementTests : IDisposable
{
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().AddSingleton<SwitchboardMetrics>().BuildServiceProvider();

    public void Dispose() => _services.Dispose();

    private GroupPublisher Publisher(IHistoryStore store, IGroupFanout fanout) =>
        new(store, fanout, TimeProvider.System, _services.GetRequiredService<SwitchboardMetrics>());

    /// <summary>Offsets per group in call order; appends complete later, on pool threads, in any order.</summary>
    private sealed class PoolStore : IHistoryStore
    {
        private readonly Dictionary<string, long> _offsets = [];

        public ValueTask<AppendResult> AppendAsync(NewGroupMessage message, CancellationToken cancellationToken = default)
        {
            long offset;
            lock (_offsets)
            {
                offset = _offsets[message.Group] = _offsets.GetValueOrDefault(message.Group) + 1;
            }
            // A few yields at random, so appends finish out of their call order.
            var yields = Random.Shared.Next(4);
            return new ValueTask<AppendResult>(Task.Run(async () =>
            {
                for (var i = 0; i < yields; i++)
                {
                    await Task.Yield();
                }
                return new AppendResult(
                    new GroupMessage(message.Id, message.Group, offset, "e", message.SenderId, message.SenderName, message.Timestamp, message.Payload),
                    Duplicate: false);
            }));
        }

        public ValueTask<StreamPosition> GetPositionAsync(string group, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public ValueTask<HistoryPage> ReadAsync(string group, long afterOffset, int limit, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();

        public ValueTask<int> TrimAsync(CancellationToken cancellationToken = default) => new(0);
    }

    /// <summary>Records, per group, the offsets in the order their fan-outs started.</summary>
    private sealed class PerGroupFanout : IGroupFanout
    {
        public ConcurrentDictionary<string, List<long>> Started { get; } = new();

        public Task Deliver(IReadOnlyList<GroupMessage> messages)
        {
            var list = Started.GetOrAdd(messages[0].Group, _ => []);
            lock (list)
            {
                list.AddRange(messages.Select(m => m.Offset));
            }
            return Task.CompletedTask;
        }
    }

    [Fact]
    public async Task GroupsPublishedToOnceDoNotKeepASequencerEach()
    {
        var publisher = Publisher(new DisabledHistoryStore(), new PerGroupFanout());

        for (var i = 0; i < 3 * GroupPublisher.MinSweepAt; i++)
        {
            await publisher.PublishPrivateAsync($"user-{i}", null, "u", "U", "hello", 100).DefaultTimeout();
        }

        // Every message went out at once, so each sweep found every group idle.
        Assert.InRange(publisher.SequencerCount, 1, GroupPublisher.MinSweepAt);
        Assert.Equal(publisher.SequencerCount, publisher.RetireIdle());
        Assert.Equal(0, publisher.SequencerCount);
    }

    [Fact]
    public async Task AGroupWithMessagesInFlightKeepsItsSequencerAndItsOrderAcrossASweep()
    {
        var store = new GroupPublisherTests.GatedStore();
        var fanout = new PerGroupFanout();
        var publisher = Publisher(store, fanout);

        var first = Enumerable.Range(1, 3).Select(i => publisher.PublishAsync("g", null, "u", "U", $"m{i}", 100)).ToList();
        Assert.Equal(0, publisher.RetireIdle()); // three appends are in flight
        Assert.Equal(1, publisher.SequencerCount);
        store.Issued.ForEach(gate => gate.SetResult());
        await Task.WhenAll(first).DefaultTimeout();

        // Idle once the deliverer let go of it, which may be just after the acknowledgements.
        await TestTimeouts.Eventually(() => Task.FromResult(publisher.RetireIdle() == 1), "the idle sequencer is retired");
        Assert.Equal(0, publisher.SequencerCount);
        var fourth = publisher.PublishAsync("g", null, "u", "U", "m4", 100);
        store.Issued[3].SetResult();
        Assert.Equal(4, (await fourth.DefaultTimeout()).Message.Offset);
        Assert.Equal([1, 2, 3, 4], fanout.Started["g"]);
    }

    [Fact]
    public async Task SweepsDuringConcurrentPublishingNeverReorderLoseOrRepeatAMessage()
    {
        var fanout = new PerGroupFanout();
        var publisher = Publisher(new PoolStore(), fanout);
        string[] groups = ["a", "b", "c", "d"];
        const int PerPublisher = 500;

        // Publishers sweep too, between their publishes, so sweeps land in every phase of a publish.
        var retired = 0;
        var publishers = Enumerable.Range(0, 8).Select(p => Task.Run(async () =>
        {
            for (var i = 0; i < PerPublisher; i++)
            {
                await publisher.PublishAsync(groups[(p + i) % groups.Length], null, "u", "U", $"{p}:{i}", 100);
                Interlocked.Add(ref retired, publisher.RetireIdle());
            }
        })).ToArray();
        await Task.WhenAll(publishers).DefaultTimeout();

        Assert.True(retired > 0, "no sweep found an idle group");
        foreach (var group in groups)
        {
            var started = fanout.Started[group];
            lock (started)
            {
                Assert.Equal(Enumerable.Range(1, 8 * PerPublisher / groups.Length).Select(i => (long)i), started);
            }
        }
    }
}

public sealed class MessageIdsTests
{
    [Fact]
    public void IdsAreThirtyTwoHexDigitsAndNeverRepeat()
    {
        var ids = Enumerable.Range(0, 10_000).AsParallel().Select(_ => MessageIds.Next()).ToList();
        Assert.All(ids, id => Assert.Matches("^[0-9a-f]{32}$", id));
        Assert.Equal(ids.Count, ids.Distinct().Count());
        // One process's ids share its random half and differ in the counter.
        Assert.Single(ids.Select(id => id[..16]).Distinct());
    }
}
