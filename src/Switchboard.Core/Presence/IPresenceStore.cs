namespace Switchboard.Core.Presence;

/// <summary>A user in a group: how many of their connections are in it, and since when.</summary>
public sealed record PresenceMember(string UserId, string Name, int Connections, DateTime JoinedAt);

/// <summary>Who is in a group now.</summary>
public sealed record GroupPresence(string Group, int Users, int Connections, IReadOnlyList<PresenceMember> Members);

/// <summary>Whether a user is online, since when they were last seen, and the groups they are in.</summary>
public sealed record UserPresence(string UserId, bool Online, int Connections, DateTime? LastSeen, IReadOnlyList<string> Groups)
{
    /// <summary>The user's open connections, on every process of the cluster.</summary>
    public IReadOnlyList<string> ConnectionIds { get; init; } = [];
}

/// <summary>A change of a group's member list, to tell the group about.</summary>
public sealed record PresenceChange(string Group, string UserId, string Name)
{
    /// <summary>
    /// For a join: the group had no member before it (it became occupied); for a leave: it has
    /// none after it (it became vacated). Decided in the same atomic step as the change itself
    /// (the store's lock, or the Redis script), so across the cluster exactly one change reports
    /// each occupied and each vacated transition.
    /// </summary>
    public bool ChangesOccupancy { get; init; }

    /// <summary>
    /// Where this change stands among the group's changes: assigned in the same atomic step as
    /// the change (the store's lock, or the Redis script), larger than every earlier change of
    /// the group across the cluster, so changes that are reported (and sent) out of order can be
    /// put back in the order the store made them. Increasing, not contiguous: changes nobody is
    /// told of (a process putting its connections back into Redis) take numbers too. It starts
    /// from the clock in microseconds since the Unix epoch (the store's clock; Redis's own for a
    /// Redis store) when the store (in memory) or the group's counter (Redis) is created, so it
    /// keeps increasing across a restart, a counter that expired, or a Redis that lost its data.
    /// </summary>
    public long Seq { get; init; }
}

/// <summary>
/// Who is connected (on every hub) and who is in which group; for a shared store, on every
/// process of the cluster. Every method is safe under concurrency,
/// including joins and leaves of the same user and group racing each other: the counts always
/// equal the connections joined and not yet left.
/// <list type="bullet">
/// <item>A user is a member of a group while at least one of their connections is in it;
/// <see cref="JoinAsync"/> reports the user's first connection joining, <see cref="LeaveAsync"/>
/// and <see cref="DisconnectedAsync"/> the last one leaving, so join/leave events fire once per user.
/// The change also says whether the group went from no members to one, or from one to none
/// (<see cref="PresenceChange.ChangesOccupancy"/>).</item>
/// <item>Joining twice, or leaving a group the connection is not in, changes nothing.</item>
/// <item>A user is online while at least one connection is open; last seen is the time their
/// last connection closed (null while online or never seen).</item>
/// </list>
/// </summary>
public interface IPresenceStore
{
    /// <summary>Records an open connection; returns how many connections the user has open now, this one included.</summary>
    ValueTask<int> ConnectedAsync(string connectionId, string userId, string name);

    /// <summary>The user a connection belongs to, or null when no such connection is open (anywhere in the cluster).</summary>
    ValueTask<string?> GetConnectionUserAsync(string connectionId);

    /// <summary>Removes the connection from every group; returns the groups the user left entirely.</summary>
    ValueTask<IReadOnlyList<PresenceChange>> DisconnectedAsync(string connectionId);

    /// <summary>Adds a connection to a group; returns the change when the user was not a member before.</summary>
    ValueTask<PresenceChange?> JoinAsync(string group, string connectionId);

    /// <summary>Removes a connection from a group; returns the change when it was the user's last connection in it.</summary>
    ValueTask<PresenceChange?> LeaveAsync(string group, string connectionId);

    ValueTask<GroupPresence> GetGroupAsync(string group);

    ValueTask<UserPresence> GetUserAsync(string userId);
}
