using Switchboard.Core.Presence;

namespace Switchboard.Core.Tests;

/// <summary>Checks that a presence store's changes, put in order by <see cref="PresenceChange.Seq"/>, replay to its final state.</summary>
public static class PresenceStoreOrder
{
    /// <summary>
    /// <paramref name="changes"/> are every change the store reported for one group (in whatever
    /// order the callers got them). Ordered by seq they must be the store's own history: distinct
    /// numbers; per user a join, a leave, a join, ...; occupied exactly when a join finds the
    /// group empty, vacated exactly when a leave empties it; and the last change of each user
    /// (and the member set they add up to) is what the store holds at the end.
    /// </summary>
    public static void AssertNumberedInStoreOrder(IReadOnlyList<(bool Joined, PresenceChange Change)> changes, GroupPresence final)
    {
        Assert.NotEmpty(changes);
        Assert.Equal(changes.Count, changes.Select(c => c.Change.Seq).Distinct().Count());
        Assert.All(changes, c => Assert.Equal(final.Group, c.Change.Group));
        var members = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (joined, change) in changes.OrderBy(c => c.Change.Seq))
        {
            if (joined)
            {
                Assert.Equal(members.Count == 0, change.ChangesOccupancy);
                Assert.True(members.Add(change.UserId), $"{change.UserId} added twice in a row (seq {change.Seq})");
            }
            else
            {
                Assert.True(members.Remove(change.UserId), $"{change.UserId} removed while absent (seq {change.Seq})");
                Assert.Equal(members.Count == 0, change.ChangesOccupancy);
            }
        }
        Assert.Equal(final.Members.Select(m => m.UserId).Order(StringComparer.Ordinal), members.Order(StringComparer.Ordinal));
        // The same, told by each user's last change alone (what a receiver keeps per user).
        foreach (var last in changes.GroupBy(c => c.Change.UserId).Select(g => g.MaxBy(c => c.Change.Seq)))
        {
            Assert.Equal(last.Joined, final.Members.Any(m => m.UserId == last.Change.UserId));
        }
    }
}
