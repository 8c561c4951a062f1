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

    /// <summary>
    /// Closes the connections this process holds and, when asked, answers how many it found
    /// (0 too: the sender waits for every process the close reached): once found, not once
    /// closed, since a close waits up to 5 s for a client that stopped reading, and the answer
    /// must not (nor fail the closes).
    /// </summary>
    private async Task CloseAndAnswerAsync(IReadOnlyList<string> connectionIds, string reason, string? replyTo)
    {
        Task answer = replyTo is not null
            ? bus.SendAsync(new ConnectionsFoundReply(replyTo, connectionIds.Count))
            : Task.CompletedTask;
        await Task.WhenAll(connectionIds.Select(id => registry.CloseAsync(id, reason)));
        await answer;
    }

    private async Task HandleAsync(ClusterCommand command)
    {
        try
        {
            switch (command)
            {
                case CloseConnectionCommand close:
                    await CloseAndAnswerAsync(registry.Contains(close.ConnectionId) ? [close.ConnectionId] : [], close.Reason, close.ReplyTo);
                    break;
                case CloseUserCommand close:
                    await CloseAndAnswerAsync([.. tracker.GetUserConnections(close.UserId).Where(registry.Contains)], close.Reason, close.ReplyTo);
                    break;
                case ConnectionsFoundReply found:
                    replies.Answer(found.RequestId, found.Count);
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
