namespace Switchboard.Core.Membership;

/// <summary>
/// User-level group membership: groups a user belongs to as a person, not per connection.
/// Every connection the user opens (now or later) is put in these groups, so membership
/// survives reconnects and spans devices. Adding twice or removing an absent membership does nothing.
/// </summary>
public interface IUserGroupStore
{
    /// <summary>Returns true when the membership is new.</summary>
    ValueTask<bool> AddAsync(string userId, string group);

    /// <summary>Returns true when a membership was removed.</summary>
    ValueTask<bool> RemoveAsync(string userId, string group);

    ValueTask<IReadOnlyList<string>> GetGroupsAsync(string userId);
}

/// <summary>Single-process <see cref="IUserGroupStore"/>; memberships last as long as the process.</summary>
public sealed class InMemoryUserGroupStore : IUserGroupStore
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, HashSet<string>> _groups = new(StringComparer.Ordinal);

    public ValueTask<bool> AddAsync(string userId, string group)
    {
        lock (_lock)
        {
            if (!_groups.TryGetValue(userId, out var set)) _groups[userId] = set = new(StringComparer.Ordinal);
            return ValueTask.FromResult(set.Add(group));
        }
    }

    public ValueTask<bool> RemoveAsync(string userId, string group)
    {
        lock (_lock)
        {
            if (!_groups.TryGetValue(userId, out var set) || !set.Remove(group)) return ValueTask.FromResult(false);
            if (set.Count == 0) _groups.Remove(userId);
            return ValueTask.FromResult(true);
        }
    }

    public ValueTask<IReadOnlyList<string>> GetGroupsAsync(string userId)
    {
        lock (_lock)
        {
            return ValueTask.FromResult<IReadOnlyList<string>>(
                _groups.TryGetValue(userId, out var set) ? [.. set.Order(StringComparer.Ordinal)] : []);
        }
    }
}
