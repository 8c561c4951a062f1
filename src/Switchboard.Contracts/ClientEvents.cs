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
}
