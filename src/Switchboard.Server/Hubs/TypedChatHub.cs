using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;
using Switchboard.Contracts;
using Switchboard.Core.Validation;
using Switchboard.Server.Hosting;

namespace Switchboard.Server.Hubs;

/// <summary><c>/hubs/typed-chat</c>: the guide's strongly typed hub.</summary>
public sealed class TypedChatHub(IOptions<SwitchboardOptions> options, TimeProvider time) : Hub<IChatClient>
{
    public override async Task OnConnectedAsync()
    {
        await Clients.All.UserConnected(Context.ConnectionId, Context.NameOrAnonymous());
        await base.OnConnectedAsync();
    }

    public override async Task OnDisconnectedAsync(Exception? exception)
    {
        await Clients.All.UserDisconnected(Context.ConnectionId);
        await base.OnDisconnectedAsync(exception);
    }

    public async Task SendMessage(string message)
    {
        HubErrors.ThrowIf(InputRules.CheckMessage(message, options.Value.MaxMessageLength));
        await Clients.All.ReceiveMessage(Context.NameOrAnonymous(), message);
    }

    public async Task SendToUser(string userId, NotificationDto notification)
    {
        HubErrors.ThrowIf(InputRules.CheckUserId(userId));
        HubErrors.ThrowIf(InputRules.CheckMessage(notification?.Message, options.Value.MaxMessageLength));
        if (notification!.Timestamp == default)
        {
            notification.Timestamp = time.GetUtcNow().UtcDateTime;
        }
        await Clients.User(userId).ReceiveNotification(notification);
    }
}
