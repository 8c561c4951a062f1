namespace Switchboard.Core.Connections;

/// <summary>
/// Single-process <see cref="IConnectionTracker"/>. The guide's version mutates a
/// <c>HashSet</c> inside a <c>ConcurrentDictionary</c> without a lock, so two connections of one
/// user arriving together can corrupt the set, and a connect racing the last disconnect can
/// add to a set that was just removed from the dictionary and be lost. Here each user's set is
/// guarded by its own lock, and a set that became empty is marked retired under that lock
/// before it leaves the dictionary; a writer that finds a retired set starts over.
/// </summary>
public sealed class InMemoryConnectionTracker : IConnectionTracker
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, UserConnections> _users =
        new(StringComparer.Ordinal);

    public int OnlineUserCount => _users.Count;

    public void AddConnection(string userId, string connectionId)
    {
        while (true)
        {
            var entry = _users.GetOrAdd(userId, static _ => new UserConnections());
            lock (entry)
            {
                if (entry.Retired)
                {
                    continue; // lost a race with the last disconnect; take the fresh entry
                }
                entry.Ids.Add(connectionId);
                return;
            }
        }
    }

    public void RemoveConnection(string userId, string connectionId)
    {
        if (!_users.TryGetValue(userId, out var entry))
        {
            return;
        }
        lock (entry)
        {
            if (entry.Retired || !entry.Ids.Remove(connectionId) || entry.Ids.Count > 0)
            {
                return;
            }
            entry.Retired = true;
            // Remove this very entry only: a newer one may already have replaced it.
            _users.TryRemove(new KeyValuePair<string, UserConnections>(userId, entry));
        }
    }

    public bool IsUserOnline(string userId) => _users.ContainsKey(userId);

    public IReadOnlyCollection<string> GetUserConnections(string userId)
    {
        if (!_users.TryGetValue(userId, out var entry))
        {
            return [];
        }
        lock (entry)
        {
            return entry.Retired ? [] : [.. entry.Ids];
        }
    }

    private sealed class UserConnections
    {
        public readonly HashSet<string> Ids = new(StringComparer.Ordinal);
        public bool Retired;
    }
}
