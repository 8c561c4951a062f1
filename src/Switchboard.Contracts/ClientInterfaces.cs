namespace Switchboard.Contracts;

/// <summary>The events of the strongly typed <c>/hubs/typed-chat</c> hub, exactly as the guide declares them.</summary>
public interface IChatClient
{
    Task ReceiveMessage(string user, string message);
    Task UserConnected(string connectionId, string userName);
    Task UserDisconnected(string connectionId);
    Task ReceiveNotification(NotificationDto notification);
}

/// <summary>The events of <c>/hubs/notifications</c>.</summary>
public interface INotificationClient
{
    Task ReceiveNotification(NotificationDto notification);
}
