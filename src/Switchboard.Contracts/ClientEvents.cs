namespace Switchboard.Contracts;

/// <summary>Names of the events the server sends to clients. One owner for every wire name.</summary>
public static class ClientEvents
{
    public const string ReceiveMessage = "ReceiveMessage";
    public const string UserConnected = "UserConnected";
    public const string UserDisconnected = "UserDisconnected";
    public const string UserJoined = "UserJoined";
    public const string UserLeft = "UserLeft";
    public const string ReceiveNotification = "ReceiveNotification";
    public const string AdminMessage = "AdminMessage";
    public const string PrivateMessage = "PrivateMessage";
    public const string UploadProgress = "UploadProgress";
    public const string UploadCompleted = "UploadCompleted";
    /// <summary>A group message with its envelope, to connections that subscribed with <c>Subscribe</c>.</summary>
    public const string ReceiveGroupMessage = "ReceiveGroupMessage";
    /// <summary>A user's first connection joined a group (to connections that subscribed with <c>presence: true</c>).</summary>
    public const string PresenceJoined = "PresenceJoined";
    /// <summary>A user's last connection left a group (to connections that subscribed with <c>presence: true</c>).</summary>
    public const string PresenceLeft = "PresenceLeft";
}

/// <summary>Names of the hub methods clients invoke.</summary>
public static class HubMethods
{
    public const string SendMessage = "SendMessage";
    public const string SendMessageToGroup = "SendMessageToGroup";
    public const string JoinGroup = "JoinGroup";
    public const string LeaveGroup = "LeaveGroup";
    public const string SendAdminMessage = "SendAdminMessage";
    public const string SendPrivateMessage = "SendPrivateMessage";
    public const string SendToUser = "SendToUser";
    public const string StreamCounter = "StreamCounter";
    public const string StreamStockPrices = "StreamStockPrices";
    public const string UploadStream = "UploadStream";
    public const string Subscribe = "Subscribe";
    public const string Unsubscribe = "Unsubscribe";
    public const string Publish = "Publish";
    public const string GetHistory = "GetHistory";
    public const string GetPresence = "GetPresence";
    public const string SubscribePrivate = "SubscribePrivate";
    public const string GetPrivateHistory = "GetPrivateHistory";
}
