namespace Switchboard.Core.Presence;

/// <summary>
/// Single-process <see cref="IPresenceStore"/>. One lock guards all of it: joins and leaves are
/// rare next to messages, and a single lock makes every count exact without reasoning about
/// interleavings across three maps.
/// </summary>
public sealed class InMemoryPresenceStore(TimeProvider time) : IPresenceStore
{
    private readonly Lock _lock = new();

    /// <summary>
    /// The last <see cref="PresenceChange.Seq"/> given, for every group (one counter is increasing
    /// per group and holds no state per group). It starts at the clock in microseconds, so a
    /// restarted process goes on above the numbers the previous one gave (unless that one made
    /// more than one change per microsecond on average, or the clock went back).
    /// </summary>
    private long _seq = time.GetUtcNow().ToUnixTimeMilliseconds() * 1000;
    private readonly Dictionary<string, Connection> _connections = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Dictionary<string, Member>> _groups = new(StringComparer.Ordinal);
    private readonly Dictionary<string, User> _users = new(StringComparer.Ordinal);

    public ValueTask<int> ConnectedAsync(string connectionId, string userId, string name)
    {
        lock (_lock)
        {
            if (!_users.TryGetValue(userId, out var user)) _users[userId] = user = new User();
            if (_connections.TryAdd(connectionId, new Connection(userId, name))) user.Connections++;
            return ValueTask.FromResult(user.Connections);
        }
    }

    public ValueTask<string?> GetConnectionUserAsync(string connectionId)
    {
        lock (_lock)
        {
            return ValueTask.FromResult(_connections.TryGetValue(connectionId, out var connection) ? connection.UserId : null);
        }
    }

    public ValueTask<IReadOnlyList<PresenceChange>> DisconnectedAsync(string connectionId)
    {
        var changes = new List<PresenceChange>();
        lock (_lock)
        {
            if (!_connections.Remove(connectionId, out var connection)) return ValueTask.FromResult<IReadOnlyList<PresenceChange>>(changes);
            foreach (var group in connection.Groups)
            {
                if (RemoveFromGroup(group, connection) is { } change) changes.Add(change);
            }
            var user = _users[connection.UserId];
            if (--user.Connections == 0) user.LastSeen = time.GetUtcNow().UtcDateTime;
        }
        return ValueTask.FromResult<IReadOnlyList<PresenceChange>>(changes);
    }

    public ValueTask<PresenceChange?> JoinAsync(string group, string connectionId)
    {
        lock (_lock)
        {
            if (!_connections.TryGetValue(connectionId, out var connection) || !connection.Groups.Add(group))
            {
                return ValueTask.FromResult<PresenceChange?>(null);
            }
            if (!_groups.TryGetValue(group, out var members)) _groups[group] = members = new(StringComparer.Ordinal);
            if (members.TryGetValue(connection.UserId, out var member))
            {
                member.Connections++;
                return ValueTask.FromResult<PresenceChange?>(null);
            }
            members[connection.UserId] = new Member(connection.Name, time.GetUtcNow().UtcDateTime) { Connections = 1 };
            return ValueTask.FromResult<PresenceChange?>(new PresenceChange(group, connection.UserId, connection.Name)
            {
                ChangesOccupancy = members.Count == 1, Seq = ++_seq,
            });
        }
    }

    public ValueTask<PresenceChange?> LeaveAsync(string group, string connectionId)
    {
        lock (_lock)
        {
            if (!_connections.TryGetValue(connectionId, out var connection) || !connection.Groups.Remove(group))
            {
                return ValueTask.FromResult<PresenceChange?>(null);
            }
            return ValueTask.FromResult(RemoveFromGroup(group, connection));
        }
    }

    public ValueTask<GroupPresence> GetGroupAsync(string group)
    {
        lock (_lock)
        {
            if (!_groups.TryGetValue(group, out var members))
            {
                return ValueTask.FromResult(new GroupPresence(group, 0, 0, []));
            }
            var list = members.Select(m => new PresenceMember(m.Key, m.Value.Name, m.Value.Connections, m.Value.JoinedAt))
                .OrderBy(m => m.UserId, StringComparer.Ordinal).ToList();
            return ValueTask.FromResult(new GroupPresence(group, list.Count, list.Sum(m => m.Connections), list));
        }
    }

    public ValueTask<UserPresence> GetUserAsync(string userId)
    {
        lock (_lock)
        {
            if (!_users.TryGetValue(userId, out var user))
            {
                return ValueTask.FromResult(new UserPresence(userId, false, 0, null, []));
            }
            var mine = _connections.Where(c => c.Value.UserId == userId).ToList();
            var groups = mine.SelectMany(c => c.Value.Groups).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
            return ValueTask.FromResult(new UserPresence(userId, user.Connections > 0, user.Connections,
                user.Connections > 0 ? null : user.LastSeen, groups)
            {
                ConnectionIds = [.. mine.Select(c => c.Key).Order(StringComparer.Ordinal)],
            });
        }
    }

    private PresenceChange? RemoveFromGroup(string group, Connection connection)
    {
        var members = _groups[group];
        var member = members[connection.UserId];
        if (--member.Connections > 0) return null;
        members.Remove(connection.UserId);
        if (members.Count == 0) _groups.Remove(group);
        return new PresenceChange(group, connection.UserId, connection.Name) { ChangesOccupancy = members.Count == 0, Seq = ++_seq };
    }

    private sealed class Connection(string userId, string name)
    {
        public string UserId { get; } = userId;
        public string Name { get; } = name;
        public HashSet<string> Groups { get; } = new(StringComparer.Ordinal);
    }

    private sealed class Member(string name, DateTime joinedAt)
    {
        public string Name { get; } = name;
        public DateTime JoinedAt { get; } = joinedAt;
        public int Connections { get; set; }
    }

    private sealed class User
    {
        public int Connections { get; set; }
        public DateTime? LastSeen { get; set; }
    }
}
