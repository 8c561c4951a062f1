namespace Switchboard.Contracts;

/// <summary>
/// A group message with its position (<c>ReceiveGroupMessage</c>, history pages, recovery).
/// On the wire: <c>{ id, group, offset, epoch, senderId, senderName, timestamp, payload }</c>.
/// </summary>
public sealed class GroupEnvelope
{
    public string Id { get; set; } = "";
    public string Group { get; set; } = "";
    public long Offset { get; set; }
    public string Epoch { get; set; } = "";
    public string? SenderId { get; set; }
    public string? SenderName { get; set; }
    public DateTime Timestamp { get; set; }
    public string Payload { get; set; } = "";
}

/// <summary>
/// The argument of <c>Subscribe</c>. Leave <see cref="Offset"/> and <see cref="Epoch"/> unset
/// for a first subscription; after a reconnect, set them to the last envelope seen to recover
/// what was missed. <see cref="History"/> asks for the last N messages on a first subscription.
/// </summary>
public sealed class SubscribeRequest
{
    public long? Offset { get; set; }
    public string? Epoch { get; set; }
    public int History { get; set; }
    /// <summary>Also receive <c>PresenceJoined</c>/<c>PresenceLeft</c> for this group. Off by default, so large groups stay quiet.</summary>
    public bool Presence { get; set; }
}

/// <summary>
/// The answer to <c>Subscribe</c>: the group's position now, and either the missed messages
/// (<see cref="Recovered"/> true; when <see cref="HasMore"/>, page on with <c>GetHistory</c>)
/// or, when the gap cannot be filled (epoch changed, or trimmed away), <see cref="Recovered"/>
/// false and the client should reload.
/// </summary>
public sealed class SubscribeResult
{
    public string Group { get; set; } = "";
    public string Epoch { get; set; } = "";
    public long Offset { get; set; }
    public bool Recovered { get; set; }
    public bool HasMore { get; set; }
    public List<GroupEnvelope> Messages { get; set; } = [];
}

/// <summary>A page of history (<c>GetHistory</c>, <c>GET /api/groups/{group}/messages</c>).</summary>
public sealed class HistoryPageDto
{
    public string Group { get; set; } = "";
    public string Epoch { get; set; } = "";
    /// <summary>The group's newest offset.</summary>
    public long Offset { get; set; }
    /// <summary>The lowest offset still stored.</summary>
    public long FirstRetained { get; set; }
    public bool HasMore { get; set; }
    public List<GroupEnvelope> Messages { get; set; } = [];
}

/// <summary>The argument of <c>Publish</c> and the body of <c>POST /api/groups/{group}/messages</c>: <c>{ id?, message }</c>.</summary>
public sealed class PublishRequest
{
    /// <summary>Optional client-chosen id; a repeat within the idempotency window is acknowledged but not stored or delivered again.</summary>
    public string? Id { get; set; }
    public string? Message { get; set; }
}

/// <summary>The acknowledgement of a publish: <c>{ id, group, offset, epoch, duplicate }</c>. Returned only once the message is durable.</summary>
public sealed class PublishResult
{
    public string Id { get; set; } = "";
    public string Group { get; set; } = "";
    public long Offset { get; set; }
    public string Epoch { get; set; } = "";
    public bool Duplicate { get; set; }
}

/// <summary><c>PresenceJoined</c>/<c>PresenceLeft</c>: <c>{ group, userId, name }</c>.</summary>
public sealed class PresenceEvent
{
    public string Group { get; set; } = "";
    public string UserId { get; set; } = "";
    public string Name { get; set; } = "";
}

/// <summary>A member of a group: <c>{ userId, name, connections, joinedAt }</c>.</summary>
public sealed class PresenceMemberDto
{
    public string UserId { get; set; } = "";
    public string Name { get; set; } = "";
    public int Connections { get; set; }
    public DateTime JoinedAt { get; set; }
}

/// <summary>Who is in a group: <c>{ group, users, connections, members }</c>.</summary>
public sealed class GroupPresenceDto
{
    public string Group { get; set; } = "";
    public int Users { get; set; }
    public int Connections { get; set; }
    public List<PresenceMemberDto> Members { get; set; } = [];
}
