using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;
using Switchboard.Contracts;
using Switchboard.Core.Diagnostics;
using Switchboard.Core.History;
using Switchboard.Core.Publishing;
using Switchboard.Core.Validation;
using Switchboard.Server.Authentication;
using Switchboard.Server.Hosting;

namespace Switchboard.Server.Hubs;

/// <summary>
/// <c>/hubs/secure-chat</c>: always requires a signed-in user. Each connection joins its user's
/// private group <c>user:{userId}</c>, which clients cannot join by name. Private messages go
/// through the publish path: stored in the recipient's channel with an offset, so a connection
/// that calls <c>SubscribePrivate</c> receives envelopes and can recover what it missed.
/// </summary>
[Authorize]
public sealed class SecureChatHub(GroupPublisher publisher, IHistoryStore history, SwitchboardMetrics metrics, IOptions<SwitchboardOptions> options) : Hub
{
    public override async Task OnConnectedAsync()
    {
        if (Context.User.UserId() is { } userId)
        {
            await Groups.AddToGroupAsync(Context.ConnectionId, InputRules.UserGroup(userId));
        }
        await base.OnConnectedAsync();
    }

    /// <summary>
    /// Admin only. The role is checked here rather than by <c>[Authorize(Roles)]</c> so the refusal
    /// carries the stable code <c>permission_denied</c> instead of SignalR's generic text.
    /// </summary>
    public async Task SendAdminMessage(string message)
    {
        if (!Context.User!.IsInRole(Roles.Admin))
        {
            throw HubErrors.PermissionDenied(nameof(SendAdminMessage)).ToHubException();
        }
        HubErrors.ThrowIf(InputRules.CheckMessage(message, options.Value.MaxMessageLength));
        await Clients.All.SendAsync(ClientEvents.AdminMessage, message);
    }

    public async Task SendPrivateMessage(string targetUserId, string message)
    {
        await publisher.PublishPrivateAsync(targetUserId, id: null, Context.User.UserId(), Context.User.DisplayName(),
            message, options.Value.MaxMessageLength);
    }

    /// <summary>
    /// Switches this connection from <c>PrivateMessage</c> to <c>ReceiveGroupMessage</c> envelopes
    /// for the caller's own channel, and returns its position, its last messages, or what was
    /// missed since (offset, epoch), exactly like the chat hub's <c>Subscribe</c>.
    /// </summary>
    public async Task<SubscribeResult> SubscribePrivate(SubscribeRequest? request)
    {
        request ??= new SubscribeRequest();
        var limits = options.Value.Recovery;
        HubErrors.ThrowIf(RecoveryRules.CheckSubscribe(request, limits));
        var channel = InputRules.UserGroup(Context.User.UserId()!);
        // Join first, read second (see ChatHub.Subscribe); then leave the plain group so nothing arrives twice.
        await Groups.AddToGroupAsync(Context.ConnectionId, ChatGroups.Envelopes(channel));
        await Groups.RemoveFromGroupAsync(Context.ConnectionId, ChatGroups.Plain(channel));
        var result = await Recovery.RecoverAsync(history, channel, request.Offset, request.Epoch, request.History,
            limits.MaxMessages, limits.MaxCharacters, Context.ConnectionAborted);
        metrics.Subscribed(request.Offset is not null, result.Recovered);
        return result.ToDto(channel);
    }

    /// <summary>A page of the caller's own private channel.</summary>
    public async Task<HistoryPageDto> GetPrivateHistory(long after, int limit)
    {
        var limits = options.Value.Recovery;
        HubErrors.ThrowIf(RecoveryRules.CheckPage(after, limit));
        var channel = InputRules.UserGroup(Context.User.UserId()!);
        var page = await Recovery.ReadPageAsync(history, channel, after, RecoveryRules.PageLimit(limit, limits), limits.MaxCharacters,
            Context.ConnectionAborted);
        return page.ToDto(channel);
    }
}
