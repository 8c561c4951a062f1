using Microsoft.AspNetCore.SignalR;
using Switchboard.Contracts;
using Switchboard.Core.Validation;

namespace Switchboard.Server.Hubs;

/// <summary>
/// <c>/hubs/notifications</c>: receives <c>ReceiveNotification</c> pushed by backends through
/// the HTTP API (<see cref="NotificationService"/>). Clients need call nothing; a client may
/// join named groups to receive the API's group notifications.
/// </summary>
public sealed class NotificationHub(GroupQuota quota) : Hub<INotificationClient>
{
    public Task JoinGroup(string groupName)
    {
        HubErrors.ThrowIf(InputRules.CheckGroupName(groupName));
        HubErrors.ThrowIf(quota.TryAdd(Context.ConnectionId, groupName));
        return Groups.AddToGroupAsync(Context.ConnectionId, groupName);
    }

    public Task LeaveGroup(string groupName)
    {
        HubErrors.ThrowIf(InputRules.CheckGroupName(groupName));
        quota.Remove(Context.ConnectionId, groupName);
        return Groups.RemoveFromGroupAsync(Context.ConnectionId, groupName);
    }

    public override Task OnDisconnectedAsync(Exception? exception)
    {
        quota.Forget(Context.ConnectionId);
        return base.OnDisconnectedAsync(exception);
    }
}
