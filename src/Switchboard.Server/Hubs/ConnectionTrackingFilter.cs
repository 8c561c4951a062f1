using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;
using Switchboard.Contracts;
using Switchboard.Core.Connections;
using Switchboard.Core.Diagnostics;
using Switchboard.Server.Hosting;
using Switchboard.Server.Authentication;

namespace Switchboard.Server.Hubs;

/// <summary>
/// Tracks every signed-in connection of every hub in the <see cref="IConnectionTracker"/>, so
/// presence does not depend on each hub remembering to do it.
/// </summary>
internal sealed class ConnectionTrackingFilter(IConnectionTracker tracker, IOptions<SwitchboardOptions> options,
    SwitchboardMetrics metrics) : IHubFilter
{
    public async Task OnConnectedAsync(HubLifetimeContext context, Func<HubLifetimeContext, Task> next)
    {
        var userId = context.Context.User.UserId();
        if (userId is null)
        {
            await next(context);
            return;
        }
        tracker.AddConnection(userId, context.Context.ConnectionId);
        // Add first, then count: racing connects of one user can then only be refused too
        // eagerly, never let past the limit.
        var max = options.Value.Limits.MaxConnectionsPerUser;
        if (max > 0 && tracker.GetUserConnections(userId).Count > max)
        {
            tracker.RemoveConnection(userId, context.Context.ConnectionId);
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
            tracker.RemoveConnection(userId, context.Context.ConnectionId);
            throw;
        }
    }

    public async Task OnDisconnectedAsync(HubLifetimeContext context, Exception? exception,
        Func<HubLifetimeContext, Exception?, Task> next)
    {
        if (context.Context.User.UserId() is { } userId)
        {
            tracker.RemoveConnection(userId, context.Context.ConnectionId);
        }
        await next(context, exception);
    }
}
