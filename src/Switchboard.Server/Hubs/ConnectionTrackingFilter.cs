using Microsoft.AspNetCore.SignalR;
using Switchboard.Core.Connections;
using Switchboard.Server.Authentication;

namespace Switchboard.Server.Hubs;

/// <summary>
/// Tracks every signed-in connection of every hub in the <see cref="IConnectionTracker"/>, so
/// presence does not depend on each hub remembering to do it.
/// </summary>
internal sealed class ConnectionTrackingFilter(IConnectionTracker tracker) : IHubFilter
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
