using Switchboard.Core.Presence;

namespace Switchboard.Core.Tests;

public sealed class InMemoryPresenceStoreTests
{
    [Fact]
    public async Task JoinAndLeaveAreReportedOncePerUser()
    {
        var store = new InMemoryPresenceStore(TimeProvider.System);
        await store.ConnectedAsync("c1", "amy", "Amy");
        await store.ConnectedAsync("c2", "amy", "Amy");

        var first = await store.JoinAsync("g", "c1");
        var second = await store.JoinAsync("g", "c2");
        var again = await store.JoinAsync("g", "c2");
        var leaveOne = await store.LeaveAsync("g", "c1");
        var leaveAbsent = await store.LeaveAsync("g", "c1");
        var gone = await store.DisconnectedAsync("c2");

        Assert.Equal(new PresenceChange("g", "amy", "Amy") { ChangesOccupancy = true, Seq = first!.Seq }, first); // the group was empty
        Assert.Null(second);
        Assert.Null(again);
        Assert.Null(leaveOne);
        Assert.Null(leaveAbsent);
        Assert.Equal([new PresenceChange("g", "amy", "Amy") { ChangesOccupancy = true, Seq = first.Seq + 1 }], gone); // and is empty again
        Assert.Equal(0, (await store.GetGroupAsync("g")).Users);
        Assert.True((await store.GetUserAsync("amy")).Online); // c1 is still open
        Assert.Empty(await store.DisconnectedAsync("c1"));
        Assert.False((await store.GetUserAsync("amy")).Online);
        Assert.NotNull((await store.GetUserAsync("amy")).LastSeen);
    }

    [Fact]
    public async Task OccupiedAndVacatedAreReportedOncePerTransitionUnderRacingUsers()
    {
        var store = new InMemoryPresenceStore(TimeProvider.System);
        var changes = new System.Collections.Concurrent.ConcurrentQueue<(bool Joined, PresenceChange Change)>();
        await Task.WhenAll(Enumerable.Range(0, 64).Select(i => Task.Run(async () =>
        {
            await store.ConnectedAsync($"c{i}", $"u{i % 8}", $"User {i % 8}");
            for (var round = 0; round < 50; round++)
            {
                if (await store.JoinAsync("hall", $"c{i}") is { } joined) changes.Enqueue((true, joined));
                if (await store.LeaveAsync("hall", $"c{i}") is { } left) changes.Enqueue((false, left));
            }
        })));

        var occupied = changes.Count(c => c.Joined && c.Change.ChangesOccupancy);
        var vacated = changes.Count(c => !c.Joined && c.Change.ChangesOccupancy);
        Assert.True(occupied >= 1);
        Assert.Equal(occupied, vacated); // hall is empty at the end: every occupied transition was vacated once
        Assert.Equal(0, (await store.GetGroupAsync("hall")).Users);
    }

    [Fact]
    public async Task RacingTransitionsOfOneGroupAreNumberedInTheOrderTheStoreMadeThem()
    {
        var store = new InMemoryPresenceStore(TimeProvider.System);
        var changes = new System.Collections.Concurrent.ConcurrentQueue<(bool Joined, PresenceChange Change)>();
        // Eight connections per user: one's leave races another's join, and the store's order
        // of the two decides whether the user is in.
        await Task.WhenAll(Enumerable.Range(0, 32).Select(i => Task.Run(async () =>
        {
            await store.ConnectedAsync($"c{i}", $"u{i % 4}", $"User {i % 4}");
            for (var round = 0; round < 50; round++)
            {
                if (await store.JoinAsync("hall", $"c{i}") is { } joined) changes.Enqueue((true, joined));
                if (await store.LeaveAsync("hall", $"c{i}") is { } left) changes.Enqueue((false, left));
            }
            if (i % 3 == 0 && await store.JoinAsync("hall", $"c{i}") is { } last) changes.Enqueue((true, last));
            if (i % 6 == 0)
            {
                foreach (var gone in await store.DisconnectedAsync($"c{i}")) changes.Enqueue((false, gone));
            }
        })));

        var final = await store.GetGroupAsync("hall");
        PresenceStoreOrder.AssertNumberedInStoreOrder([.. changes], final);
        Assert.NotEmpty(final.Members); // c3, c9, ... joined last and stayed
    }

    [Fact]
    public async Task NumbersGoOnAboveThoseOfAStoreBeforeARestartAndAfterAGroupEmptied()
    {
        var time = new History.ManualTimeProvider(DateTimeOffset.UtcNow);
        var before = new InMemoryPresenceStore(time);
        await before.ConnectedAsync("c1", "amy", "Amy");
        var joined = (await before.JoinAsync("g", "c1"))!.Seq;
        var left = (await before.LeaveAsync("g", "c1"))!.Seq; // g is empty now
        var again = (await before.JoinAsync("g", "c1"))!.Seq;
        Assert.True(joined < left && left < again, $"{joined}, {left}, {again}");
        Assert.Equal(time.GetUtcNow().ToUnixTimeMilliseconds() * 1000 + 1, joined); // the clock in microseconds, then one by one

        // A process restarted a millisecond later goes on above (unless the old one made more than one change per microsecond).
        time.Advance(TimeSpan.FromMilliseconds(1));
        var after = new InMemoryPresenceStore(time);
        await after.ConnectedAsync("c1", "amy", "Amy");
        Assert.True((await after.JoinAsync("g", "c1"))!.Seq > again);
    }

    [Fact]
    public async Task CountsStayExactUnderConcurrentJoinsLeavesAndDisconnects()
    {
        var store = new InMemoryPresenceStore(TimeProvider.System);
        const int connections = 400;
        await Task.WhenAll(Enumerable.Range(0, connections).Select(i => Task.Run(async () =>
        {
            await store.ConnectedAsync($"c{i}", $"u{i % 20}", $"User {i % 20}");
            for (var round = 0; round < 50; round++)
            {
                await store.JoinAsync("busy", $"c{i}");
                await store.LeaveAsync("busy", $"c{i}");
            }
            await store.JoinAsync("busy", $"c{i}");
            if (i % 2 == 0) await store.DisconnectedAsync($"c{i}");
        })));

        var group = await store.GetGroupAsync("busy");
        Assert.Equal((10, 200), (group.Users, group.Connections));
        Assert.All(group.Members, m => Assert.Equal(20, m.Connections));
        Assert.All(group.Members, m => Assert.Equal(1, int.Parse(m.UserId[1..]) % 2));
    }
}
