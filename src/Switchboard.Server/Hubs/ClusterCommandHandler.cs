using Switchboard.Core.Cluster;
using Switchboard.Core.Connections;

namespace Switchboard.Server.Hubs;

/// <summary>
/// Applies <see cref="ClusterCommand"/>s to the connections of this process: closing a
/// connection or all of a user's, and user-level group changes. Registered with the bus when
/// the host starts.
/// </summary>
internal sealed class ClusterCommandHandler(IClusterBus bus, ConnectionRegistry registry, IConnectionTracker tracker,
    ChatMembership membership, ILogger<ClusterCommandHandler> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        bus.OnCommand(HandleAsync);
        bus.Resumed += () => _ = ReconcileAsync();
        return Task.CompletedTask;
    }

    /// <summary>User-level membership changes sent while the bus was cut off were missed: apply what is stored.</summary>
    private async Task ReconcileAsync()
    {
        try
        {
            await membership.ReconcileUserGroupsAsync();
        }
        catch (Exception e)
        {
            HubLog.ClusterCommandFailed(logger, e, "reconcile user-level groups");
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private async Task HandleAsync(ClusterCommand command)
    {
        try
        {
            switch (command)
            {
                case CloseConnectionCommand close:
                    await registry.CloseAsync(close.ConnectionId, close.Reason);
                    break;
                case CloseUserCommand close:
                    await Task.WhenAll(tracker.GetUserConnections(close.UserId).Select(id => registry.CloseAsync(id, close.Reason)));
                    break;
                case UserGroupCommand change:
                    await membership.ApplyUserGroupAsync(change);
                    break;
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            HubLog.ClusterCommandFailed(logger, e, command.GetType().Name);
        }
    }
}
