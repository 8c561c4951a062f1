using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;
using Switchboard.Contracts;
using Switchboard.Core.Connections;
using Switchboard.Core.Diagnostics;
using Switchboard.Core.Presence;
using Switchboard.Server.Hosting;
using Switchboard.Server.Authentication;

namespace Switchboard.Server.Hubs;

/// <summary>
/// Tracks every signed-in connection of every hub: in this process's <see cref="IConnectionTracker"/>
/// (the guide's tracker) and in the <see cref="IPresenceStore"/> (cluster-wide when it is shared),
/// so presence does not depend on each hub remembering to do it. Enforces connections per user
/// against the presence store's count, so the quota holds across processes.
/// </summary>
internal sealed class ConnectionTrackingFilter(IConnectionTracker tracker, IPresenceStore presence, ChatMembership membership,
    IOptions<SwitchboardOptions> options, SwitchboardMetrics metrics, ILogger<ConnectionTrackingFilter> logger) : IHubFilter
{
    public async Task OnConnectedAsync(HubLifetimeContext context, Func<HubLifetimeContext, Task> next)
    {
        var user = context.Context.User;
        var userId = user.UserId();
        var connectionId = context.Context.ConnectionId;
        if (userId is null)
        {
            await next(context);
            return;
        }
        tracker.AddConnection(userId, connectionId);
        // Add first, then count: racing connects of one user can then only be refused too
        // eagerly, never let past the limit.
        int count;
        try
        {
            count = await presence.ConnectedAsync(connectionId, userId, user.DisplayName() ?? userId);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The shared store is unreachable: the connection is served all the same (the store
            // catches up when it returns), and the quota falls back to this process's count.
            HubLog.PresenceUnavailable(logger, e);
            count = tracker.GetUserConnections(userId).Count;
        }
        var max = options.Value.Limits.MaxConnectionsPerUser;
        if (max > 0 && count > max)
        {
            await ForgetAsync(userId, connectionId);
            metrics.Refused(ErrorCodes.TooManyConnections);
            // SignalR closes the connection and passes a HubException's message in the close
            // message, with allowReconnect false.
            throw new SwitchboardError(ErrorCodes.TooManyConnections,
                $"A user may have at most {max} connections open; close one first.").ToHubException();
        }
        try
        {
            await next(context);
        }
        catch
        {
            // SignalR does not call OnDisconnectedAsync when OnConnectedAsync fails.
            await ForgetAsync(userId, connectionId);
            throw;
        }
    }

    public async Task OnDisconnectedAsync(HubLifetimeContext context, Exception? exception,
        Func<HubLifetimeContext, Exception?, Task> next)
    {
        try
        {
            await next(context, exception);
        }
        finally
        {
            if (context.Context.User.UserId() is { } userId)
            {
                await ForgetAsync(userId, context.Context.ConnectionId);
            }
        }
    }

    private async Task ForgetAsync(string userId, string connectionId)
    {
        tracker.RemoveConnection(userId, connectionId);
        IReadOnlyList<PresenceChange> changes;
        try
        {
            changes = await presence.DisconnectedAsync(connectionId);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            HubLog.PresenceUnavailable(logger, e);
            return;
        }
        await membership.AnnounceLeftAsync(changes);
    }
}
