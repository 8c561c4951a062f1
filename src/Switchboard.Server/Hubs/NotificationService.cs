using Microsoft.AspNetCore.SignalR;
using Switchboard.Contracts;

namespace Switchboard.Server.Hubs;

/// <summary>The guide's <c>NotificationService</c>: pushes <c>ReceiveNotification</c> to NotificationHub clients from outside any hub.</summary>
public sealed class NotificationService(IHubContext<NotificationHub, INotificationClient> hubContext, TimeProvider time)
{
    public Task SendToAllAsync(string message) =>
        hubContext.Clients.All.ReceiveNotification(Create(message));

    public Task SendToUserAsync(string userId, string message) =>
        hubContext.Clients.User(userId).ReceiveNotification(Create(message));

    public Task SendToGroupAsync(string groupName, string message) =>
        hubContext.Clients.Group(groupName).ReceiveNotification(Create(message));

    private NotificationDto Create(string message) =>
        new() { Message = message, Timestamp = time.GetUtcNow().UtcDateTime };
}
