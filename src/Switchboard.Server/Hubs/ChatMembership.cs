using Microsoft.AspNetCore.SignalR;
using Switchboard.Contracts;
using Switchboard.Core.Cluster;
using Switchboard.Core.Connections;
using Switchboard.Core.Membership;
using Switchboard.Core.Presence;

namespace Switchboard.Server.Hubs;

/// <summary>
/// The SignalR groups behind one chat group. Clients join by name only the plain group; the
/// others carry a '$' prefix, which group-name rules forbid, so nobody can join them directly.
/// </summary>
internal static class ChatGroups
{
    /// <summary>Connections that joined with <c>JoinGroup</c>: they get the guide's <c>ReceiveMessage</c>.</summary>
    public static string Plain(string group) => group;

    /// <summary>Connections that subscribed: they get <c>ReceiveGroupMessage</c> envelopes.</summary>
    public static string Envelopes(string group) => "$env:" + group;

    /// <summary>Connections that asked for presence events: <c>PresenceJoined</c>/<c>PresenceLeft</c>.</summary>
    public static string PresenceEvents(string group) => "$presence:" + group;
}

/// <summary>
/// Who is in which chat group: SignalR's groups (delivery), the presence store (who is there)
/// and user-level memberships (groups a user belongs to on every connection, present and
/// future), kept in step. Hubs and the HTTP API both go through here. User-level memberships
/// reach the user's connections on every process through the <see cref="IClusterBus"/>.
/// </summary>
public sealed class ChatMembership(IHubContext<ChatHub> hub, IPresenceStore presence, IUserGroupStore userGroups, GroupQuota quota,
    IClusterBus bus, ConnectionRegistry registry, Webhooks.WebhookQueue webhooks, ILogger<ChatMembership> logger)
{
    /// <summary>The chat hub's connections per user, for applying user-level memberships to them.</summary>
    private readonly InMemoryConnectionTracker _chatConnections = new();

    /// <summary>Per chat connection that joined or subscribed: see <see cref="ConnectionGroups"/>.</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, ConnectionGroups> _connections = new(StringComparer.Ordinal);

    /// <summary>
    /// One connection's groups as this class needs them: those it subscribed to (envelopes), so
    /// that it never also gets the plain form, and, for a signed-in connection, its user and the
    /// groups the server put it in for user-level memberships. Read and written under its own lock.
    /// Its <see cref="Gate"/> lets one join or leave of the connection run at a time, in the
    /// order they began: with parallel invocations, or a user-level change racing the client's
    /// own call, their awaited steps (Redis round trips) would otherwise interleave and leave
    /// the connection's groups, quota and presence saying different things.
    /// </summary>
    private sealed class ConnectionGroups(string? userId)
    {
        public string? UserId { get; } = userId;
        public SemaphoreSlim Gate { get; } = new(1, 1);
        public HashSet<string> Subscribed { get; } = new(StringComparer.Ordinal);
        public HashSet<string> ByServer { get; } = new(StringComparer.Ordinal);
    }

    public enum Mode { Plain, Envelopes }

    /// <summary>A chat connection opened (presence already knows it: <see cref="ConnectionTrackingFilter"/>): put it in the user's groups.</summary>
    internal async Task ConnectedAsync(string connectionId, string? userId)
    {
        // Every chat connection has its record from here until Disconnected: a join or leave
        // that finds none (the connection closed meanwhile) does nothing, and leaves nothing behind.
        _connections[connectionId] = new ConnectionGroups(userId);
        if (userId is null) return;
        _chatConnections.AddConnection(userId, connectionId);
        var groups = await userGroups.GetGroupsAsync(userId);
        foreach (var group in groups)
        {
            await JoinAsync(connectionId, group, Mode.Plain, presenceEvents: false, byServer: true);
        }
        if (groups.Count > 0)
        {
            // A membership removed while these joins ran was applied to the user's connections
            // before this one had joined it: read again, and leave what is gone.
            var now = await userGroups.GetGroupsAsync(userId);
            foreach (var gone in groups.Except(now, StringComparer.Ordinal))
            {
                await LeaveAsync(connectionId, gone);
            }
        }
    }

    internal void Disconnected(string connectionId, string? userId)
    {
        // The record first: a join that adds to the quota after this sees it gone and forgets it.
        _connections.TryRemove(connectionId, out _);
        quota.Forget(connectionId);
        if (userId is null) return;
        _chatConnections.RemoveConnection(userId, connectionId);
    }

    /// <summary>Tells the groups a closed connection's user left entirely.</summary>
    internal async Task AnnounceLeftAsync(IReadOnlyList<PresenceChange> changes)
    {
        foreach (var change in changes)
        {
            await AnnounceAsync(ClientEvents.PresenceLeft, change);
        }
    }

    /// <summary>
    /// Puts a connection in a group. A client's own join is refused with <c>too_many_groups</c>
    /// when it is full; the server's (<paramref name="byServer"/>) never is. A connection gets
    /// each message of a group once: one that subscribed gets envelopes only, so subscribing
    /// takes it out of the plain form, and a plain join (<c>JoinGroup</c>, a user-level
    /// membership) of a subscribed connection adds no second copy.
    /// </summary>
    public async Task JoinAsync(string connectionId, string group, Mode mode, bool presenceEvents, bool byServer = false)
    {
        if (Of(connectionId) is not { } connection) return; // closed
        await connection.Gate.WaitAsync();
        try
        {
            if (!IsOpen(connectionId, connection)) return; // closed while waiting for the gate
            await JoinGatedAsync(connection, connectionId, group, mode, presenceEvents, byServer);
        }
        finally
        {
            connection.Gate.Release();
            // Closed while this ran: what it added to the quota would outlive the connection.
            if (!IsOpen(connectionId, connection)) quota.Forget(connectionId);
        }
    }

    private async Task JoinGatedAsync(ConnectionGroups connection, string connectionId, string group, Mode mode, bool presenceEvents, bool byServer)
    {
        Core.SwitchboardException.ThrowIf(quota.TryAdd(connectionId, group, enforce: !byServer));
        if (mode == Mode.Envelopes)
        {
            lock (connection) connection.Subscribed.Add(group);
            await hub.Groups.AddToGroupAsync(connectionId, ChatGroups.Envelopes(group));
            await hub.Groups.RemoveFromGroupAsync(connectionId, ChatGroups.Plain(group));
        }
        else if (!IsSubscribed(connection, group))
        {
            await hub.Groups.AddToGroupAsync(connectionId, ChatGroups.Plain(group));
        }
        if (byServer)
        {
            lock (connection) connection.ByServer.Add(group);
        }
        if (presenceEvents)
        {
            await hub.Groups.AddToGroupAsync(connectionId, ChatGroups.PresenceEvents(group));
        }
        if (await presence.JoinAsync(group, connectionId) is { } change)
        {
            await AnnounceAsync(ClientEvents.PresenceJoined, change);
        }
    }

    /// <summary>Leaving a group leaves it in every mode.</summary>
    public async Task LeaveAsync(string connectionId, string group)
    {
        if (Of(connectionId) is not { } connection) return; // closed
        await connection.Gate.WaitAsync();
        try
        {
            if (!IsOpen(connectionId, connection)) return; // closed while waiting for the gate
            await LeaveGatedAsync(connection, connectionId, group);
        }
        finally
        {
            connection.Gate.Release();
            // Closed while this ran: what it added to the quota would outlive the connection.
            if (!IsOpen(connectionId, connection)) quota.Forget(connectionId);
        }
    }

    private async Task LeaveGatedAsync(ConnectionGroups connection, string connectionId, string group)
    {
        quota.Remove(connectionId, group);
        lock (connection)
        {
            connection.Subscribed.Remove(group);
            connection.ByServer.Remove(group);
        }
        await hub.Groups.RemoveFromGroupAsync(connectionId, ChatGroups.Plain(group));
        await hub.Groups.RemoveFromGroupAsync(connectionId, ChatGroups.Envelopes(group));
        await hub.Groups.RemoveFromGroupAsync(connectionId, ChatGroups.PresenceEvents(group));
        if (await presence.LeaveAsync(group, connectionId) is { } change)
        {
            await AnnounceAsync(ClientEvents.PresenceLeft, change);
        }
    }

    /// <summary>Makes <paramref name="group"/> one of the user's groups and puts their open chat connections in it.</summary>
    public async Task<bool> AddUserAsync(string userId, string group)
    {
        var added = await userGroups.AddAsync(userId, group);
        await bus.SendAsync(new UserGroupCommand(userId, group, Added: true));
        return added;
    }

    /// <summary>Removes a user-level membership and takes the user's open chat connections out of the group.</summary>
    public async Task<bool> RemoveUserAsync(string userId, string group)
    {
        var removed = await userGroups.RemoveAsync(userId, group);
        await bus.SendAsync(new UserGroupCommand(userId, group, Added: false));
        return removed;
    }

    /// <summary>
    /// Applies a user-level membership change to the user's chat connections on this process.
    /// The store decides, not the command: an add and a remove of one membership sent from two
    /// processes can arrive in the other order than they were stored. A connection that closed
    /// meanwhile is skipped (with Redis, a group change for a connection no process holds waits
    /// for an answer that never comes), and one that fails does not keep the others from it.
    /// </summary>
    internal async Task ApplyUserGroupAsync(UserGroupCommand command)
    {
        var connections = _chatConnections.GetUserConnections(command.UserId);
        if (connections.Count == 0) return;
        var member = (await userGroups.GetGroupsAsync(command.UserId)).Contains(command.Group, StringComparer.Ordinal);
        foreach (var connectionId in connections)
        {
            if (!registry.Contains(connectionId)) continue;
            try
            {
                if (member)
                {
                    await JoinAsync(connectionId, command.Group, Mode.Plain, presenceEvents: false, byServer: true);
                }
                else
                {
                    await LeaveAsync(connectionId, command.Group);
                }
            }
            catch (Exception e)
            {
                HubLog.UserGroupNotApplied(logger, e, connectionId);
            }
        }
    }

    /// <summary>
    /// Brings every signed-in chat connection of this process in line with the user-level
    /// memberships stored: joins what was added and leaves what was removed while the cluster bus
    /// was cut off (pub/sub keeps nothing for a subscriber that is away, and the connections
    /// themselves stayed). Run when the bus comes back.
    /// </summary>
    internal async Task ReconcileUserGroupsAsync()
    {
        var signedIn = _connections.ToArray().Where(e => e.Value.UserId is not null);
        foreach (var byUser in signedIn.GroupBy(e => e.Value.UserId!, StringComparer.Ordinal))
        {
            var stored = await userGroups.GetGroupsAsync(byUser.Key);
            foreach (var (connectionId, groups) in byUser)
            {
                if (!registry.Contains(connectionId)) continue;
                string[] joined;
                lock (groups) joined = [.. groups.ByServer];
                try
                {
                    foreach (var group in stored.Except(joined, StringComparer.Ordinal))
                    {
                        await JoinAsync(connectionId, group, Mode.Plain, presenceEvents: false, byServer: true);
                    }
                    foreach (var group in joined.Except(stored, StringComparer.Ordinal))
                    {
                        await LeaveAsync(connectionId, group);
                    }
                }
                catch (Exception e)
                {
                    HubLog.UserGroupNotApplied(logger, e, connectionId);
                }
            }
        }
    }

    /// <summary>The connection's record, made by <see cref="ConnectedAsync"/>; null once it closed (or before it opened).</summary>
    private ConnectionGroups? Of(string connectionId) => _connections.TryGetValue(connectionId, out var connection) ? connection : null;

    private bool IsOpen(string connectionId, ConnectionGroups connection) =>
        _connections.TryGetValue(connectionId, out var current) && ReferenceEquals(current, connection);

    private static bool IsSubscribed(ConnectionGroups connection, string group)
    {
        lock (connection) return connection.Subscribed.Contains(group);
    }

    /// <summary>
    /// Every presence transition this process observed goes through here (join, leave, close,
    /// and a dead process's sweep): the group is told, and the backend by webhook (queued first,
    /// without waiting, so a failed send to the group does not lose it).
    /// </summary>
    private Task AnnounceAsync(string eventName, PresenceChange change)
    {
        webhooks.Presence(change, joined: eventName == ClientEvents.PresenceJoined);
        return hub.Clients.Group(ChatGroups.PresenceEvents(change.Group))
            .SendAsync(eventName, new PresenceEvent { Group = change.Group, UserId = change.UserId, Name = change.Name });
    }
}
