using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Switchboard.Contracts;
using Switchboard.Server.Hosting;

namespace Switchboard.Server.Hubs;

/// <summary>
/// How many groups each connection is in, bounded by <c>Switchboard:Limits:MaxGroupsPerConnection</c>,
/// so a client cannot grow the server's group tables without end. Joining a group the connection
/// is already in costs nothing. Memberships the server applies itself (user-level groups) are
/// counted but never refused.
/// </summary>
public sealed class GroupQuota(IOptions<SwitchboardOptions> options)
{
    private readonly ConcurrentDictionary<string, HashSet<string>> _groups = new(StringComparer.Ordinal);

    /// <summary>Counts <paramref name="group"/> for the connection, or refuses with <c>too_many_groups</c> when <paramref name="enforce"/> and the connection is full.</summary>
    public SwitchboardError? TryAdd(string connectionId, string group, bool enforce = true)
    {
        var groups = _groups.GetOrAdd(connectionId, static _ => new HashSet<string>(StringComparer.Ordinal));
        var max = options.Value.Limits.MaxGroupsPerConnection;
        lock (groups)
        {
            if (groups.Contains(group))
            {
                return null;
            }
            if (enforce && groups.Count >= max)
            {
                return new(ErrorCodes.TooManyGroups, $"A connection may be in at most {max} groups; leave one first.");
            }
            groups.Add(group);
            return null;
        }
    }

    public void Remove(string connectionId, string group)
    {
        if (_groups.TryGetValue(connectionId, out var groups))
        {
            lock (groups) groups.Remove(group);
        }
    }

    /// <summary>Whether <paramref name="group"/> is counted for the connection.</summary>
    internal bool Counts(string connectionId, string group)
    {
        if (!_groups.TryGetValue(connectionId, out var groups)) return false;
        lock (groups) return groups.Contains(group);
    }

    /// <summary>Drops a closed connection's count.</summary>
    public void Forget(string connectionId) => _groups.TryRemove(connectionId, out _);
}
