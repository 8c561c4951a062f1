namespace Switchboard.Contracts;

/// <summary>The path of every hub: the guide's names (it maps /hubs/chat and /hubs/notifications; the other hubs follow the same pattern).</summary>
public static class HubRoutes
{
    public const string Chat = "/hubs/chat";
    public const string Notifications = "/hubs/notifications";
    public const string SecureChat = "/hubs/secure-chat";
    public const string TypedChat = "/hubs/typed-chat";
    public const string Streaming = "/hubs/streaming";
    public const string Upload = "/hubs/upload";
    public const string Robust = "/hubs/robust";

    /// <summary>Every hub path starts with this segment; the <c>access_token</c> query string is honoured only below it.</summary>
    public const string Prefix = "/hubs";
}
