using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;
using Switchboard.Contracts;
using Switchboard.Core.Diagnostics;
using Switchboard.Core.History;
using Switchboard.Core.Presence;
using Switchboard.Core.Publishing;
using Switchboard.Core.Validation;
using Switchboard.Server.Authentication;
using Switchboard.Server.Hosting;

namespace Switchboard.Server.Hubs;

/// <summary>
/// <c>/hubs/chat</c>: the guide's chat hub, with every argument validated. Group messages go
/// through the publish path (stored in history with an offset, then delivered); connections
/// that <c>Subscribe</c> receive them as envelopes and can recover what they missed.
/// </summary>
public sealed class ChatHub(GroupPublisher publisher, IHistoryStore history, ChatMembership membership, IPresenceStore presence,
    SwitchboardMetrics metrics, IOptions<SwitchboardOptions> options, ILogger<ChatHub> logger) : Hub
{
    public override async Task OnConnectedAsync()
    {
        HubLog.ClientConnected(logger, nameof(ChatHub), Context.ConnectionId);
        try
        {
            await membership.ConnectedAsync(Context.ConnectionId, Context.User.UserId());
            await Clients.All.SendAsync(ClientEvents.UserConnected, Context.ConnectionId);
        }
        catch
        {
            // SignalR does not call OnDisconnectedAsync for a connection whose OnConnectedAsync
            // failed: forget it here, or it would stay in the user's memberships for good.
            membership.Disconnected(Context.ConnectionId, Context.User.UserId());
            throw;
        }
        await base.OnConnectedAsync();
    }

    public override async Task OnDisconnectedAsync(Exception? exception)
    {
        HubLog.ClientDisconnected(logger, nameof(ChatHub), Context.ConnectionId);
        membership.Disconnected(Context.ConnectionId, Context.User.UserId());
        await Clients.All.SendAsync(ClientEvents.UserDisconnected, Context.ConnectionId);
        await base.OnDisconnectedAsync(exception);
    }

    public async Task SendMessage(string user, string message)
    {
        var sender = Context.SenderName(user);
        HubErrors.ThrowIf(InputRules.CheckMessage(message, options.Value.MaxMessageLength));
        await Clients.All.SendAsync(ClientEvents.ReceiveMessage, sender, message);
    }

    public async Task SendMessageToGroup(string groupName, string user, string message)
    {
        HubErrors.ThrowIf(InputRules.CheckGroupName(groupName));
        var sender = Context.SenderName(user);
        await publisher.PublishAsync(groupName, id: null, Context.User.UserId(), sender, message, options.Value.MaxMessageLength);
    }

    /// <summary>Publishes to a group and returns the acknowledgement (offset, epoch, duplicate) once the message is durable.</summary>
    public async Task<PublishResult> Publish(string groupName, PublishRequest request)
    {
        var result = await publisher.PublishAsync(groupName, request?.Id, Context.User.UserId(), Context.NameOrAnonymous(),
            request?.Message, options.Value.MaxMessageLength);
        return result.ToPublishResult();
    }

    /// <summary>
    /// Starts receiving <c>ReceiveGroupMessage</c> envelopes for a group and returns its position,
    /// optionally its last messages, or, given the last (offset, epoch) seen, what was missed.
    /// </summary>
    public async Task<SubscribeResult> Subscribe(string groupName, SubscribeRequest? request)
    {
        HubErrors.ThrowIf(InputRules.CheckGroupName(groupName));
        request ??= new SubscribeRequest();
        var limits = options.Value.Recovery;
        HubErrors.ThrowIf(RecoveryRules.CheckSubscribe(request, limits));
        // Join first, read second: a message published in between arrives live and is also in
        // the answer; the client drops the repeat by offset. The other order could lose it.
        await membership.JoinAsync(Context.ConnectionId, groupName, ChatMembership.Mode.Envelopes, request.Presence);
        var result = await Recovery.RecoverAsync(history, groupName, request.Offset, request.Epoch, request.History,
            limits.MaxMessages, limits.MaxCharacters, Context.ConnectionAborted);
        metrics.Subscribed(request.Offset is not null, result.Recovered);
        return result.ToDto(groupName);
    }

    /// <summary>Leaves the group in every mode, like <c>LeaveGroup</c> but without the <c>UserLeft</c> announcement.</summary>
    public async Task Unsubscribe(string groupName)
    {
        HubErrors.ThrowIf(InputRules.CheckGroupName(groupName));
        await membership.LeaveAsync(Context.ConnectionId, groupName);
    }

    /// <summary>Who is in a group. Only a member of the group (any mode) may ask.</summary>
    public async Task<GroupPresenceDto> GetPresence(string groupName)
    {
        HubErrors.ThrowIf(InputRules.CheckGroupName(groupName));
        var userId = Context.User.UserId();
        if (userId is null || !(await presence.GetUserAsync(userId)).Groups.Contains(groupName))
        {
            throw new SwitchboardError(ErrorCodes.PermissionDenied, "Only members of a group may see its presence.").ToHubException();
        }
        return (await presence.GetGroupAsync(groupName)).ToDto();
    }

    /// <summary>
    /// A page of a group's history: messages after <paramref name="after"/>, at most <paramref name="limit"/>
    /// and at most <c>Switchboard:Recovery:MaxMessages</c> (a larger limit is served as that many).
    /// </summary>
    public async Task<HistoryPageDto> GetHistory(string groupName, long after, int limit)
    {
        HubErrors.ThrowIf(InputRules.CheckGroupName(groupName));
        var limits = options.Value.Recovery;
        HubErrors.ThrowIf(RecoveryRules.CheckPage(after, limit));
        var page = await Recovery.ReadPageAsync(history, groupName, after, RecoveryRules.PageLimit(limit, limits), limits.MaxCharacters,
            Context.ConnectionAborted);
        return page.ToDto(groupName);
    }

    public async Task JoinGroup(string groupName)
    {
        HubErrors.ThrowIf(InputRules.CheckGroupName(groupName));
        await membership.JoinAsync(Context.ConnectionId, groupName, ChatMembership.Mode.Plain, presenceEvents: false);
        await Clients.Group(groupName).SendAsync(ClientEvents.UserJoined, Context.ConnectionId, groupName);
    }

    public async Task LeaveGroup(string groupName)
    {
        HubErrors.ThrowIf(InputRules.CheckGroupName(groupName));
        await membership.LeaveAsync(Context.ConnectionId, groupName);
        await Clients.Group(groupName).SendAsync(ClientEvents.UserLeft, Context.ConnectionId, groupName);
    }
}
