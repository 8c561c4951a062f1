using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;
using Switchboard.Contracts;
using Switchboard.Core.Validation;
using Switchboard.Server.Authentication;
using Switchboard.Server.Hosting;

namespace Switchboard.Server.Hubs;

/// <summary>
/// <c>/hubs/secure-chat</c>: always requires a signed-in user. Each connection joins its user's
/// private group <c>user:{userId}</c>, which clients cannot join by name.
/// </summary>
[Authorize]
public sealed class SecureChatHub(IOptions<SwitchboardOptions> options) : Hub
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
        HubErrors.ThrowIf(InputRules.CheckUserId(targetUserId));
        HubErrors.ThrowIf(InputRules.CheckMessage(message, options.Value.MaxMessageLength));
        await Clients.Group(InputRules.UserGroup(targetUserId))
            .SendAsync(ClientEvents.PrivateMessage, Context.User.UserId(), message);
    }
}
