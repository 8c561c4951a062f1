namespace Switchboard.Server.Hubs;

/// <summary>Hub log messages. Message bodies and tokens are never logged.</summary>
internal static partial class HubLog
{
    [LoggerMessage(1001, LogLevel.Debug, "Client {ConnectionId} connected to {Hub}.")]
    public static partial void ClientConnected(ILogger logger, string hub, string connectionId);

    [LoggerMessage(1002, LogLevel.Debug, "Client {ConnectionId} disconnected from {Hub}.")]
    public static partial void ClientDisconnected(ILogger logger, string hub, string connectionId);

    [LoggerMessage(1003, LogLevel.Error, "RobustHub failed to send a message for {ConnectionId}.")]
    public static partial void RobustSendFailed(ILogger logger, Exception exception, string connectionId);

    [LoggerMessage(1004, LogLevel.Information, "Upload on {ConnectionId} ended by the client after {Items} items.")]
    public static partial void UploadCancelled(ILogger logger, string connectionId, long items);

    [LoggerMessage(1005, LogLevel.Warning, "The presence store is unreachable; presence catches up when it returns.")]
    public static partial void PresenceUnavailable(ILogger logger, Exception exception);

    [LoggerMessage(1006, LogLevel.Error, "A cluster command ({Command}) failed on this process.")]
    public static partial void ClusterCommandFailed(ILogger logger, Exception exception, string command);

    [LoggerMessage(1007, LogLevel.Warning, "A user-level group change could not be applied to connection {ConnectionId}; it gets it when it reconnects.")]
    public static partial void UserGroupNotApplied(ILogger logger, Exception exception, string connectionId);
}
