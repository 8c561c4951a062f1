namespace Switchboard.Contracts;

/// <summary>
/// A refusal: a stable machine-readable <see cref="Code"/> and a sentence for people.
/// Hubs send it as a <c>HubException</c> whose message is <c>"{code}: {message}"</c>; the HTTP
/// API as problem details whose <c>code</c> extension is the code. The closed set is
/// <see cref="ErrorCodes"/> and <c>docs/protocol.md</c>.
/// </summary>
public sealed record SwitchboardError(string Code, string Message)
{
    public override string ToString() => $"{Code}: {Message}";
}

/// <summary>The closed set of error codes. Each is documented in <c>docs/protocol.md</c>.</summary>
public static class ErrorCodes
{
    /// <summary>A message was missing, empty or only whitespace.</summary>
    public const string MessageEmpty = "message_empty";
    /// <summary>A message was longer than the configured character limit.</summary>
    public const string MessageTooLong = "message_too_long";
    /// <summary>A group name broke the naming rules.</summary>
    public const string GroupNameInvalid = "group_name_invalid";
    /// <summary>A group name used a prefix only the server may use (<c>user:</c>).</summary>
    public const string GroupNameReserved = "group_name_reserved";
    /// <summary>A user id argument was missing or malformed.</summary>
    public const string UserIdInvalid = "user_id_invalid";
    /// <summary>A display name argument was missing or malformed (anonymous callers only).</summary>
    public const string UserNameInvalid = "user_name_invalid";
    /// <summary>A client-chosen message id broke the id rules.</summary>
    public const string MessageIdInvalid = "message_id_invalid";
    /// <summary>A history or recovery argument was out of range (offset, limit).</summary>
    public const string PositionInvalid = "position_invalid";
    /// <summary>The HTTP API needs a valid bearer token (401).</summary>
    public const string Unauthenticated = "unauthenticated";
    /// <summary>The caller lacks the role the operation needs.</summary>
    public const string PermissionDenied = "permission_denied";
    /// <summary>A stream argument was out of range (count, delay, symbols).</summary>
    public const string ArgumentInvalid = "argument_invalid";
    /// <summary>The client ended an upload stream with an error before completing it.</summary>
    public const string UploadCancelled = "upload_cancelled";
    /// <summary>An HTTP request body was larger than <c>Switchboard:Limits:MaxRequestBodyBytes</c> (413).</summary>
    public const string BodyTooLarge = "body_too_large";
    /// <summary>The server failed while handling a valid request; nothing was sent.</summary>
    public const string InternalError = "internal_error";
    /// <summary>History could not store the message (storage failing or unreachable); nothing was delivered. Retry with the same id.</summary>
    public const string HistoryUnavailable = "history_unavailable";
    /// <summary>A service the cluster shares (Redis) is unreachable, so nothing was sent; retry later (HTTP 503 with Retry-After).</summary>
    public const string Unavailable = "unavailable";
    /// <summary>A browser page on an origin not in <c>Switchboard:AllowedOrigins</c> tried to connect to a hub (403).</summary>
    public const string OriginNotAllowed = "origin_not_allowed";
    /// <summary>The user already has <c>Switchboard:Limits:MaxConnectionsPerUser</c> connections open; the new one is closed.</summary>
    public const string TooManyConnections = "too_many_connections";
    /// <summary>The connection is already in <c>Switchboard:Limits:MaxGroupsPerConnection</c> groups.</summary>
    public const string TooManyGroups = "too_many_groups";
    /// <summary>Too many invocations from one connection; also the close reason after repeated violations.</summary>
    public const string RateLimited = "rate_limited";
    /// <summary>No open connection has that id (on this server).</summary>
    public const string ConnectionNotFound = "connection_not_found";
    /// <summary>An HTTP request body was not the JSON the endpoint expects.</summary>
    public const string BodyInvalid = "body_invalid";
}

/// <summary>
/// Reasons the server gives when it closes a connection (SignalR's close message, with
/// <c>allowReconnect: false</c> unless the reason says otherwise). The client sees <c>"{reason}: {sentence}"</c>. Documented in <c>docs/protocol.md</c>.
/// </summary>
public static class CloseReasons
{
    /// <summary>Closed through the HTTP API (<c>DELETE /api/connections/{id}</c>, <c>DELETE /api/users/{id}/connections</c>).</summary>
    public const string Disconnected = "disconnected";

    /// <summary>The connection went on invoking past its rate limit (<c>Switchboard:Limits</c>).</summary>
    public const string RateLimited = ErrorCodes.RateLimited;

    /// <summary>
    /// The connection did not read its messages and more than <c>Switchboard:Limits:MaxOutboundQueueBytes</c>
    /// were waiting for it. Sent with <c>allowReconnect: true</c>: the client may reconnect and recover.
    /// </summary>
    public const string Slow = "slow";
}
