using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;
using Switchboard.Contracts;
using Switchboard.Core.Validation;
using Switchboard.Server.Hosting;

namespace Switchboard.Server.Hubs;

/// <summary><c>/hubs/chat</c>: the guide's chat hub, with every argument validated.</summary>
public sealed class ChatHub(IOptions<SwitchboardOptions> options, ILogger<ChatHub> logger) : Hub
{
    public override async Task OnConnectedAsync()
    {
        HubLog.ClientConnected(logger, nameof(ChatHub), Context.ConnectionId);
        await Clients.All.SendAsync(ClientEvents.UserConnected, Context.ConnectionId);
        await base.OnConnectedAsync();
    }

    public override async Task OnDisconnectedAsync(Exception? exception)
    {
        HubLog.ClientDisconnected(logger, nameof(ChatHub), Context.ConnectionId);
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
        HubErrors.ThrowIf(InputRules.CheckMessage(message, options.Value.MaxMessageLength));
        await Clients.Group(groupName).SendAsync(ClientEvents.ReceiveMessage, sender, message);
    }

    public async Task JoinGroup(string groupName)
    {
        HubErrors.ThrowIf(InputRules.CheckGroupName(groupName));
        await Groups.AddToGroupAsync(Context.ConnectionId, groupName);
        await Clients.Group(groupName).SendAsync(ClientEvents.UserJoined, Context.ConnectionId, groupName);
    }

    public async Task LeaveGroup(string groupName)
    {
        HubErrors.ThrowIf(InputRules.CheckGroupName(groupName));
        await Groups.RemoveFromGroupAsync(Context.ConnectionId, groupName);
        await Clients.Group(groupName).SendAsync(ClientEvents.UserLeft, Context.ConnectionId, groupName);
    }
}
