using Switchboard.Core.Cluster;
using Switchboard.Core.Connections;

namespace Switchboard.Server.Hubs;

/// <summary>
/// Applies <see cref="ClusterCommand"/>s to the connections of this process: closing a
/// connection or all of a user's, and user-level group changes. Registered with the bus when
/// the host starts.
/// </summary>
internal sealed class ClusterCommandHandler(IClusterBus bus, ConnectionRegistry registry, IConnectionTracker tracker,
    ChatMembership membership, ClusterReplies replies, ILogger<ClusterCommandHandler> logger) : IHostedService
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
                    // Answered once found, not once closed: closing waits up to 5 s for a client
                    // that stopped reading, and the answer must not (nor fail the close).
                    var reply = close.ReplyTo is not null && registry.Contains(close.ConnectionId)
                        ? bus.SendAsync(new ConnectionFoundReply(close.ReplyTo))
                        : Task.CompletedTask;
                    await registry.CloseAsync(close.ConnectionId, close.Reason);
                    await reply;
                    break;
                case ConnectionFoundReply found:
                    replies.Answer(found.RequestId);
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
