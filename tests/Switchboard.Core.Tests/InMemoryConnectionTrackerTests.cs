using Switchboard.Core.Connections;

namespace Switchboard.Core.Tests;

public sealed class InMemoryConnectionTrackerTests
{
    [Fact]
    public void AUserIsOnlineExactlyWhileAConnectionIsTracked()
    {
        var tracker = new InMemoryConnectionTracker();
        tracker.AddConnection("alice", "c1");
        tracker.AddConnection("alice", "c2");
        tracker.RemoveConnection("alice", "c1");
        Assert.True(tracker.IsUserOnline("alice"));
        Assert.Equal(["c2"], tracker.GetUserConnections("alice"));

        tracker.RemoveConnection("alice", "c2");
        tracker.RemoveConnection("alice", "c2"); // twice: harmless
        tracker.RemoveConnection("nobody", "c9");

        Assert.False(tracker.IsUserOnline("alice"));
        Assert.Empty(tracker.GetUserConnections("alice"));
        Assert.Equal(0, tracker.OnlineUserCount);
    }

    [Fact]
    public void ConcurrentConnectsAndDisconnectsOfOneUserLoseNothing()
    {
        // Each worker connects and disconnects its own connections of the same user, over and
        // over. A tracker that mutates a shared HashSet without a lock, or adds to a set that
        // the last disconnect just removed (the guide's), loses connections or corrupts the set.
        var tracker = new InMemoryConnectionTracker();
        const int workers = 8, rounds = 20_000;
        var failures = 0;
        Parallel.For(0, workers, new ParallelOptions { MaxDegreeOfParallelism = workers }, w =>
        {
            for (var i = 0; i < rounds; i++)
            {
                var id = $"w{w}-{i}";
                tracker.AddConnection("alice", id);
                if (!tracker.IsUserOnline("alice") || !tracker.GetUserConnections("alice").Contains(id))
                {
                    Interlocked.Increment(ref failures);
                }
                tracker.RemoveConnection("alice", id);
            }
        });

        Assert.Equal(0, failures);
        Assert.False(tracker.IsUserOnline("alice"));
        Assert.Empty(tracker.GetUserConnections("alice"));
    }

    [Fact]
    public void ConcurrentConnectsAllEndUpTracked()
    {
        var tracker = new InMemoryConnectionTracker();
        Parallel.For(0, 50_000, i => tracker.AddConnection($"user{i % 7}", $"c{i}"));

        Assert.Equal(7, tracker.OnlineUserCount);
        Assert.Equal(50_000, Enumerable.Range(0, 7).Sum(u => tracker.GetUserConnections($"user{u}").Count));
    }
}
