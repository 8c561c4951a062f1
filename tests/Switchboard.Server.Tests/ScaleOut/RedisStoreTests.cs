using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using Switchboard.Core.Cluster;
using Switchboard.Core.History;
using Switchboard.Core.Presence;
using Switchboard.Core.Tests.History;
using Switchboard.Redis;
using Switchboard.Server.Tests.Infrastructure;

namespace Switchboard.Server.Tests.ScaleOut;

/// <summary>Opens Switchboard's Redis services on the shared test Redis under a key prefix of their own.</summary>
internal static class RedisStores
{
    public static RedisConnection Connect(RedisServer redis, string prefix, RedisOptions? options = null)
    {
        options ??= new RedisOptions();
        options.ChannelPrefix = prefix;
        return new RedisConnection(new RedisConnectionString(redis.ConnectionString), Options.Create(options), NullLogger<RedisConnection>.Instance);
    }

    public static string NewPrefix() => "t" + Guid.NewGuid().ToString("N")[..12];
}

/// <summary>The history store contract (the same suite SQLite passes) against a real Redis.</summary>
public sealed class RedisHistoryStoreTests(RedisFixture redis) : HistoryStoreConformanceTests, IClassFixture<RedisFixture>
{
    private readonly string _prefix = RedisStores.NewPrefix();
    private readonly List<RedisConnection> _connections = [];

    protected override Task<IHistoryStore> CreateStoreAsync(HistoryOptions options) =>
        Task.FromResult<IHistoryStore>(StoreOn(redis.Server, options));

    /// <summary>A store on <paramref name="server"/> under this test's prefix; its connection is closed with the test.</summary>
    private RedisHistoryStore StoreOn(RedisServer server, HistoryOptions options)
    {
        var connection = RedisStores.Connect(server, _prefix);
        _connections.Add(connection);
        return new RedisHistoryStore(connection, Options.Create(options), Time, NullLogger<RedisHistoryStore>.Instance);
    }

    protected override async Task<IHistoryStore> RestartAsync(IHistoryStore store, HistoryOptions options)
    {
        await ((RedisHistoryStore)store).DisposeAsync();
        return await CreateStoreAsync(options);
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        foreach (var connection in _connections) await connection.DisposeAsync();
    }

    [Fact]
    public async Task TwoProcessesAppendingToOneGroupNeverShareAnOffsetOrLeaveAGap()
    {
        var a = await OpenAsync();
        var b = await OpenAsync();
        var appends = Enumerable.Range(0, 400)
            .Select(i => (i % 2 == 0 ? a : b).AppendAsync(Message("room", $"m{i}")).AsTask());
        var results = await Task.WhenAll(appends).DefaultTimeout();
        Assert.Equal(Enumerable.Range(1, 400).Select(i => (long)i), results.Select(r => r.Message.Offset).Order());
        // An id one process stored is a duplicate on the other.
        var again = await b.AppendAsync(Message("room", "m0")).AsTask().DefaultTimeout();
        Assert.True(again.Duplicate);
        Assert.Equal(results[0].Message, again.Message);
    }

    [Fact]
    public async Task ARedisThatLostItsDataGivesEveryGroupANewEpochAndStartsOver()
    {
        await using var own = await RedisServer.StartAsync();
        await using var store = StoreOn(own, TestOptions());
        var first = await store.AppendAsync(Message("room", "a")).AsTask().DefaultTimeout();

        await own.StopAsync();
        await own.StartAgainAsync(wipe: true);

        var position = await Eventually(() => store.GetPositionAsync("room").AsTask());
        Assert.Equal(0, position.Offset);
        Assert.NotEqual(first.Message.Epoch, position.Epoch);
        var next = await store.AppendAsync(Message("room", "b")).AsTask().DefaultTimeout();
        Assert.Equal((1, position.Epoch), (next.Message.Offset, next.Message.Epoch));
    }

    [Fact]
    public async Task GroupNamesShapedLikeTheStoresOwnKeysAreGroupsOfTheirOwn()
    {
        // An empty Redis whose first append goes to a group named like the retention set: in key
        // layout 1 it took that key for a stream, and every later append anywhere failed.
        await using var own = await RedisServer.StartAsync();
        await using var store = StoreOn(own, TestOptions());
        async Task<long> Append(string group, string id)
        {
            var result = await store.AppendAsync(Message(group, id)).AsTask().DefaultTimeout();
            Assert.False(result.Duplicate, $"{group}/{id} was taken for a duplicate");
            return result.Message.Offset;
        }

        Assert.Equal(1, await Append("groups", "g1"));
        Assert.Equal(1, await Append("room:seq", "s1")); // layout 1: the counter of "room"
        Assert.Equal(2, await Append("room:seq", "s2"));
        Assert.Equal(1, await Append("room", "seq"));    // layout 1: the id key of "room"/"seq" was the counter of "room:id"
        Assert.Equal(1, await Append("room:id", "r1"));
        Assert.Equal(2, await Append("room", "r2"));
        Assert.Equal(1, await Append("a}seq", "b1"));    // the closing brace is escaped
        Assert.Equal(1, await Append("a", "b2"));
        Assert.Equal(1, await Append("a%7Dseq", "b3"));  // and the escape is one to one

        await store.TrimAsync().AsTask().DefaultTimeout(); // retention goes over all of them
        foreach (var (group, top) in new[] { ("groups", 1L), ("room:seq", 2L), ("room", 2L), ("room:id", 1L), ("a}seq", 1L), ("a", 1L) })
        {
            Assert.Equal(top, (await store.GetPositionAsync(group).AsTask().DefaultTimeout()).Offset);
        }
        Assert.Equal(["seq", "r2"], (await store.ReadAsync("room", 0, 10).AsTask().DefaultTimeout()).Messages.Select(m => m.Id));
    }

    [Fact]
    public async Task RetentionFollowsOnlyTheGroupsThatHoldMessages()
    {
        var options = TestOptions();
        options.MaxAge = TimeSpan.FromHours(1);
        var store = (RedisHistoryStore)await OpenAsync(options);
        foreach (var group in new[] { "old-1", "old-2", "fresh" })
        {
            await store.AppendAsync(Message(group, "m1")).AsTask().DefaultTimeout();
        }
        var admin = await redis.Server.AdminAsync();
        var groupsKey = _prefix + ":h2:groups";
        Assert.Equal(3, await admin.SortedSetLengthAsync(groupsKey));

        Time.Advance(TimeSpan.FromMinutes(50));
        await store.AppendAsync(Message("fresh", "m2")).AsTask().DefaultTimeout();
        Time.Advance(TimeSpan.FromMinutes(20)); // the first messages are 70 minutes old, "fresh"'s second 20
        Assert.Equal(3, await store.TrimAsync().AsTask().DefaultTimeout());

        // The emptied groups left the set; their positions stay, and an append puts a group back.
        Assert.Equal(["fresh"], (await admin.SortedSetRangeByRankAsync(groupsKey)).Select(g => (string)g!));
        Assert.Equal(1, (await store.GetPositionAsync("old-1").AsTask().DefaultTimeout()).Offset);
        Assert.Equal(2, (await store.AppendAsync(Message("old-1", "m2")).AsTask().DefaultTimeout()).Message.Offset);
        Assert.Equal(2, await admin.SortedSetLengthAsync(groupsKey));
    }

    [Fact]
    public async Task AGroupWhoseCounterAloneWasLostContinuesAfterItsLastStoredOffset()
    {
        var store = (RedisHistoryStore)await OpenAsync();
        for (var i = 1; i <= 5; i++) await store.AppendAsync(Message("room", $"m{i}")).AsTask().DefaultTimeout();
        var admin = await redis.Server.AdminAsync();
        Assert.True(await admin.KeyDeleteAsync(RedisHistoryStore.CounterKey(store.StreamKey("room")))); // as an eviction would

        Assert.Equal(5, (await store.GetPositionAsync("room").AsTask().DefaultTimeout()).Offset);
        Assert.Equal(5, (await store.ReadAsync("room", 0, 0).AsTask().DefaultTimeout()).Top.Offset);
        var next = await store.AppendAsync(Message("room", "m6")).AsTask().DefaultTimeout();
        Assert.Equal(6, next.Message.Offset);
        Assert.Equal(Enumerable.Range(1, 6).Select(i => (long)i),
            (await store.ReadAsync("room", 0, 10).AsTask().DefaultTimeout()).Messages.Select(m => m.Offset));
        Assert.Equal(7, (await store.AppendAsync(Message("room", "m7")).AsTask().DefaultTimeout()).Message.Offset);
    }

    /// <summary>Retries while the client reconnects to a restarted Redis (it fails fast meanwhile).</summary>
    private static async Task<T> Eventually<T>(Func<Task<T>> action)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (true)
        {
            try
            {
                return await action().WaitAsync(TimeSpan.FromSeconds(5));
            }
            catch (Exception) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }
        }
    }
}

/// <summary>The presence store on a real Redis: the single-process rules, plus processes that die and a Redis that forgets.</summary>
public sealed class RedisPresenceStoreTests(RedisFixture redis) : IClassFixture<RedisFixture>, IAsyncLifetime
{
    private readonly string _prefix = RedisStores.NewPrefix();
    private readonly List<IAsyncDisposable> _owned = [];

    private RedisPresenceStore Open(RedisServer? server = null, RedisOptions? options = null)
    {
        var connection = RedisStores.Connect(server ?? redis.Server, _prefix, options);
        var store = new RedisPresenceStore(connection, TimeProvider.System, NullLogger<RedisPresenceStore>.Instance);
        _owned.Add(store);
        _owned.Add(connection);
        return store;
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var owned in _owned) await owned.DisposeAsync();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AProcessSweptWhileStalledPutsItsConnectionsBack(bool aConnectArrivesBeforeItsHeartbeat)
    {
        // Background upkeep out of the way: the test runs each heartbeat and sweep itself.
        var slow = new RedisOptions { HeartbeatInterval = TimeSpan.FromMinutes(1), ProcessTimeout = TimeSpan.FromMinutes(2) };
        var a = Open(options: slow);
        var b = Open(options: new RedisOptions { HeartbeatInterval = TimeSpan.FromMinutes(1), ProcessTimeout = TimeSpan.FromMinutes(2) });
        await a.ConnectedAsync("a1", "amy", "Amy");
        await a.JoinAsync("room", "a1");
        await a.UpkeepOnceAsync();
        // a stalls past its timeout: its heartbeat key expires and b sweeps it.
        var admin = await redis.Server.AdminAsync();
        Assert.True(await admin.KeyDeleteAsync(_prefix + ":p:alive:" + a.ProcessId));
        await b.UpkeepOnceAsync();
        Assert.Null(await b.GetConnectionUserAsync("a1"));

        // a resumes; a connection that arrives before its next heartbeat makes its key again.
        if (aConnectArrivesBeforeItsHeartbeat) await a.ConnectedAsync("a2", "bob", "Bob");
        await a.UpkeepOnceAsync();

        Assert.Equal("amy", await b.GetConnectionUserAsync("a1"));
        Assert.Equal(1, (await b.GetGroupAsync("room")).Users);
        Assert.True((await b.GetUserAsync("amy")).Online);
    }

    [Fact]
    public async Task TwoProcessesSeeOneGroupAndOneUserTheSameWay()
    {
        var a = Open();
        var b = Open();
        Assert.Equal(1, await a.ConnectedAsync("a1", "amy", "Amy"));
        Assert.Equal(2, await b.ConnectedAsync("b1", "amy", "Amy"));
        await b.ConnectedAsync("b2", "bob", "Bob");

        var amyJoined = await a.JoinAsync("room", "a1");
        // room was empty; its counter starts at Redis's clock in microseconds
        Assert.Equal(new PresenceChange("room", "amy", "Amy") { ChangesOccupancy = true, Seq = amyJoined!.Seq }, amyJoined);
        Assert.InRange(amyJoined.Seq, DateTimeOffset.UtcNow.AddMinutes(-5).ToUnixTimeMilliseconds() * 1000, long.MaxValue);
        Assert.Null(await b.JoinAsync("room", "b1")); // amy was already a member (no number taken)
        // room was occupied; one counter for the group on both processes
        Assert.Equal(new PresenceChange("room", "bob", "Bob") { Seq = amyJoined.Seq + 1 }, await b.JoinAsync("room", "b2"));
        Assert.Null(await b.JoinAsync("room", "b2")); // twice changes nothing

        foreach (var store in new[] { a, b })
        {
            var group = await store.GetGroupAsync("room");
            Assert.Equal((2, 3), (group.Users, group.Connections));
            Assert.Equal(["amy", "bob"], group.Members.Select(m => m.UserId));
            var amy = await store.GetUserAsync("amy");
            Assert.Equal(["a1", "b1"], amy.ConnectionIds);
            Assert.Equal(["room"], amy.Groups);
            Assert.Equal("amy", await store.GetConnectionUserAsync("b1"));
        }

        Assert.Null(await a.LeaveAsync("room", "a1")); // b1 keeps amy in
        Assert.Equal([new PresenceChange("room", "amy", "Amy") { Seq = amyJoined.Seq + 2 }], await b.DisconnectedAsync("b1")); // bob is still in room
        var gone = await a.DisconnectedAsync("a1");
        Assert.Empty(gone);
        var offline = await b.GetUserAsync("amy");
        Assert.False(offline.Online);
        Assert.NotNull(offline.LastSeen);
        Assert.Null(await a.GetConnectionUserAsync("a1"));
    }

    [Fact]
    public async Task RacingJoinsAndLeavesOfOneUserKeepExactCounts()
    {
        var a = Open();
        var b = Open();
        var work = Enumerable.Range(0, 100).Select(async i =>
        {
            var store = i % 2 == 0 ? a : b;
            var id = $"c{i}";
            await store.ConnectedAsync(id, "amy", "Amy");
            await store.JoinAsync("room", id);
            if (i % 3 == 0) await store.LeaveAsync("room", id);
            if (i % 5 == 0) await store.DisconnectedAsync(id);
        });
        await Task.WhenAll(work).DefaultTimeout();
        var expected = Enumerable.Range(0, 100).Count(i => i % 3 != 0 && i % 5 != 0);
        var group = await a.GetGroupAsync("room");
        Assert.Equal((1, expected), (group.Users, group.Connections));
        Assert.Equal(Enumerable.Range(0, 100).Count(i => i % 5 != 0), (await b.GetUserAsync("amy")).Connections);
    }

    [Fact]
    public async Task RacingUsersOnTwoProcessesReportEachOccupiedAndVacatedTransitionExactlyOnce()
    {
        var a = Open();
        var b = Open();
        var changes = new System.Collections.Concurrent.ConcurrentQueue<(bool Joined, PresenceChange Change)>();
        var work = Enumerable.Range(0, 40).Select(async i =>
        {
            var store = i % 2 == 0 ? a : b;
            var id = $"o{i}";
            await store.ConnectedAsync(id, $"u{i % 8}", $"User {i % 8}");
            for (var round = 0; round < 10; round++)
            {
                if (await store.JoinAsync("hall", id) is { } joined) changes.Enqueue((true, joined));
                if (await store.LeaveAsync("hall", id) is { } left) changes.Enqueue((false, left));
            }
            if (i % 4 == 0 && await store.JoinAsync("hall", id) is { } last) changes.Enqueue((true, last));
        });
        await Task.WhenAll(work).DefaultTimeout();

        // Each occupied transition is followed by one vacated one: the counts differ by whether hall has members now.
        var occupied = changes.Count(c => c.Joined && c.Change.ChangesOccupancy);
        var vacated = changes.Count(c => !c.Joined && c.Change.ChangesOccupancy);
        Assert.True(occupied >= 1);
        Assert.Equal((await a.GetGroupAsync("hall")).Users > 0 ? 1 : 0, occupied - vacated);
        Assert.Equal(1, occupied - vacated); // connections o0, o4, ... stayed in
    }

    [Fact]
    public async Task RacingTransitionsOfOneGroupOnTwoProcessesAreNumberedInTheOrderTheStoreMadeThem()
    {
        var a = Open();
        var b = Open();
        var changes = new System.Collections.Concurrent.ConcurrentQueue<(bool Joined, PresenceChange Change)>();
        // Each user has connections on both processes: a leave on one races a join on the other,
        // and which of them the store made last decides whether the user is in.
        var work = Enumerable.Range(0, 32).Select(async i =>
        {
            var store = i % 2 == 0 ? a : b;
            var id = $"q{i}";
            await store.ConnectedAsync(id, $"u{i % 4}", $"User {i % 4}");
            for (var round = 0; round < 8; round++)
            {
                if (await store.JoinAsync("hall", id) is { } joined) changes.Enqueue((true, joined));
                if (await store.LeaveAsync("hall", id) is { } left) changes.Enqueue((false, left));
            }
            if (i % 3 == 0 && await store.JoinAsync("hall", id) is { } last) changes.Enqueue((true, last));
            if (i % 6 == 0)
            {
                foreach (var gone in await store.DisconnectedAsync(id)) changes.Enqueue((false, gone));
            }
        });
        await Task.WhenAll(work).DefaultTimeout();

        var final = await a.GetGroupAsync("hall");
        Switchboard.Core.Tests.PresenceStoreOrder.AssertNumberedInStoreOrder([.. changes], final);
        Assert.NotEmpty(final.Members); // q3, q9, ... joined last and stayed

        // The counter outlives the group: everyone leaves (the group's keys go), and the next
        // join goes on above every number given so far.
        var highest = changes.Max(c => c.Change.Seq);
        var admin = await redis.Server.AdminAsync();
        foreach (var i in Enumerable.Range(0, 32).Where(i => i % 6 != 0))
        {
            await (i % 2 == 0 ? a : b).DisconnectedAsync($"q{i}");
        }
        Assert.False(await admin.KeyExistsAsync(_prefix + ":p:g:hall"));
        var ttl = await admin.KeyTimeToLiveAsync(_prefix + ":p:gs:hall");
        Assert.InRange(ttl!.Value, RedisPresenceStore.SeqLifetime - TimeSpan.FromMinutes(1), RedisPresenceStore.SeqLifetime);
        await a.ConnectedAsync("again", "u0", "User 0");
        var back = await a.JoinAsync("hall", "again");
        Assert.True(back!.Seq > highest + 1, $"{back.Seq} after {highest}"); // the leaves just now took numbers too

        // A counter that expired (or was lost with Redis's data) starts again from Redis's clock: still above.
        Assert.True(await admin.KeyDeleteAsync(_prefix + ":p:gs:hall"));
        var afterExpiry = await a.LeaveAsync("hall", "again");
        Assert.True(afterExpiry!.Seq > back.Seq, $"{afterExpiry.Seq} after {back.Seq}");
    }

    [Fact]
    public async Task ADeadProcesssConnectionsLeavePresenceOnceItsHeartbeatExpires()
    {
        var fast = new RedisOptions { HeartbeatInterval = TimeSpan.FromMilliseconds(200), ProcessTimeout = TimeSpan.FromMilliseconds(600) };
        var survivor = Open(options: fast);
        var doomedConnection = RedisStores.Connect(redis.Server, _prefix, new RedisOptions
        {
            HeartbeatInterval = TimeSpan.FromMilliseconds(200), ProcessTimeout = TimeSpan.FromMilliseconds(600),
        });
        _owned.Add(doomedConnection);
        var doomed = new RedisPresenceStore(doomedConnection, TimeProvider.System, NullLogger<RedisPresenceStore>.Instance);
        _owned.Add(doomed);
        var swept = new System.Collections.Concurrent.ConcurrentQueue<PresenceChange>();
        survivor.DeadProcessSwept += changes =>
        {
            foreach (var change in changes) swept.Enqueue(change);
            return Task.CompletedTask;
        };
        await doomed.ConnectedAsync("d1", "dan", "Dan");
        var danInRoom = (await doomed.JoinAsync("room", "d1"))!.Seq;
        var danInSolo = (await doomed.JoinAsync("solo", "d1"))!.Seq;
        await survivor.ConnectedAsync("s1", "sue", "Sue");
        var sueInRoom = (await survivor.JoinAsync("room", "s1"))!.Seq;
        Assert.Equal(2, (await survivor.GetGroupAsync("room")).Users);

        // Stop the heartbeat without a clean goodbye: what a kill -9 leaves behind.
        await doomedConnection.DisposeAsync();
        await TestTimeouts.Eventually(() => survivor.GetGroupAsync("room").AsTask().Result.Users == 1, "the dead process's user left the group");
        Assert.False((await survivor.GetUserAsync("dan")).Online);
        Assert.True((await survivor.GetUserAsync("sue")).Online);
        // The sweeper is told who left, and which group is empty now (solo) or not (room: sue),
        // each with the next number of its group.
        await TestTimeouts.Eventually(() => swept.Count == 2, "the sweep reported dan's two groups");
        Assert.Equal(
            [new PresenceChange("room", "dan", "Dan") { Seq = sueInRoom + 1 }, new PresenceChange("solo", "dan", "Dan") { ChangesOccupancy = true, Seq = danInSolo + 1 }],
            swept.OrderBy(c => c.Group, StringComparer.Ordinal));
        Assert.Equal(danInRoom + 1, sueInRoom);
    }

    [Fact]
    public async Task AfterRedisLosesItsDataEachProcessPutsItsConnectionsBack()
    {
        await using var own = await RedisServer.StartAsync();
        var store = Open(own, new RedisOptions { HeartbeatInterval = TimeSpan.FromMilliseconds(200), ProcessTimeout = TimeSpan.FromMilliseconds(600) });
        await store.ConnectedAsync("c1", "amy", "Amy");
        await store.JoinAsync("room", "c1");

        await own.StopAsync();
        await own.StartAgainAsync(wipe: true);

        await TestTimeouts.Eventually(() =>
        {
            try { return store.GetGroupAsync("room").AsTask().Result.Users == 1; }
            catch (AggregateException) { return false; }
        }, "the process re-registered its connection");
        Assert.Equal(["room"], (await store.GetUserAsync("amy")).Groups);
    }
}

/// <summary>The cluster command bus on a real Redis.</summary>
public sealed class RedisClusterBusTests
{
    /// <summary>Signals when the bus logs the event with <paramref name="eventId"/>.</summary>
    private sealed class LogSignal(int eventId) : ILogger<RedisClusterBus>
    {
        public TaskCompletionSource Logged { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId id, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (id.Id == eventId) Logged.TrySetResult();
        }
    }

    [Fact]
    public async Task AProcessThatStartedWhileRedisWasAwayRunsCommandsSentOnceItIsBack()
    {
        await using var server = await RedisServer.StartAsync();
        await server.StopAsync();
        var prefix = RedisStores.NewPrefix();
        await using var listening = RedisStores.Connect(server, prefix);
        var failed = new LogSignal(3008);
        var received = new TaskCompletionSource<ClusterCommand>(TaskCreationOptions.RunContinuationsAsynchronously);
        new RedisClusterBus(listening, failed).OnCommand(command => { received.TrySetResult(command); return Task.CompletedTask; });
        await failed.Logged.Task.DefaultTimeout(); // its first subscription failed

        await server.StartAgainAsync();
        await using var sending = RedisStores.Connect(server, prefix);
        var sender = new RedisClusterBus(sending, NullLogger<RedisClusterBus>.Instance);
        // Pub/sub keeps nothing for a subscriber still on its way, so send until one arrives.
        var deadline = DateTime.UtcNow + TestTimeouts.Network;
        while (!received.Task.IsCompleted && DateTime.UtcNow < deadline)
        {
            try
            {
                await sender.SendAsync(new CloseUserCommand("carol", "test")).DefaultTimeout();
            }
            catch (RedisConnectionException)
            {
                // the sender is still connecting
            }
            await Task.WhenAny(received.Task, Task.Delay(100));
        }

        Assert.Equal(new CloseUserCommand("carol", "test"), await received.Task.DefaultTimeout());
    }

    [Fact]
    public async Task TheBusSaysWhenItsSubscriptionIsBackAfterAnInterruption()
    {
        await using var server = await RedisServer.StartAsync();
        await using var connection = RedisStores.Connect(server, RedisStores.NewPrefix());
        var bus = new RedisClusterBus(connection, NullLogger<RedisClusterBus>.Instance);
        var resumed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        bus.Resumed += () => resumed.TrySetResult();
        var received = new TaskCompletionSource<ClusterCommand>(TaskCreationOptions.RunContinuationsAsynchronously);
        bus.OnCommand(command => { received.TrySetResult(command); return Task.CompletedTask; });
        // Subscribed once a command goes through.
        var deadline = DateTime.UtcNow + TestTimeouts.Network;
        while (!received.Task.IsCompleted && DateTime.UtcNow < deadline)
        {
            await bus.SendAsync(new CloseUserCommand("u", "first")).DefaultTimeout();
            await Task.WhenAny(received.Task, Task.Delay(100));
        }
        await received.Task.DefaultTimeout();
        Assert.False(resumed.Task.IsCompleted);

        var admin = await server.AdminAsync();
        await admin.ExecuteAsync("CLIENT", "KILL", "TYPE", "pubsub").DefaultTimeout(); // as a network blip would

        await resumed.Task.DefaultTimeout();
    }
}
