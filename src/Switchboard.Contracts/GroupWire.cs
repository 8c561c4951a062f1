using System.Runtime.Serialization;

namespace Switchboard.Contracts;

/// <summary>
/// A group message with its position (<c>ReceiveGroupMessage</c>, history pages, recovery).
/// On the wire: <c>{ id, group, offset, epoch, senderId, senderName, timestamp, payload }</c>.
/// </summary>
[DataContract]
public sealed class GroupEnvelope
{
    [DataMember(Name = "id")]
    public string Id { get; set; } = "";
    [DataMember(Name = "group")]
    public string Group { get; set; } = "";
    [DataMember(Name = "offset")]
    public long Offset { get; set; }
    [DataMember(Name = "epoch")]
    public string Epoch { get; set; } = "";
    [DataMember(Name = "senderId")]
    public string? SenderId { get; set; }
    [DataMember(Name = "senderName")]
    public string? SenderName { get; set; }
    [DataMember(Name = "timestamp")]
    public DateTime Timestamp { get; set; }
    [DataMember(Name = "payload")]
    public string Payload { get; set; } = "";
}

/// <summary>
/// The argument of <c>Subscribe</c>. Leave <see cref="Offset"/> and <see cref="Epoch"/> unset
/// for a first subscription; after a reconnect, set them to the last envelope seen to recover
/// what was missed. <see cref="History"/> asks for the last N messages on a first subscription.
/// </summary>
[DataContract]
public sealed class SubscribeRequest
{
    [DataMember(Name = "offset")]
    public long? Offset { get; set; }
    [DataMember(Name = "epoch")]
    public string? Epoch { get; set; }
    [DataMember(Name = "history")]
    public int History { get; set; }
    /// <summary>Also receive <c>PresenceJoined</c>/<c>PresenceLeft</c> for this group. Off by default, so large groups stay quiet.</summary>
    [DataMember(Name = "presence")]
    public bool Presence { get; set; }
}

/// <summary>
/// The answer to <c>Subscribe</c>: the group's position now, and either the missed messages
/// (<see cref="Recovered"/> true; when <see cref="HasMore"/>, page on with <c>GetHistory</c>)
/// or, when the gap cannot be filled (epoch changed, or trimmed away), <see cref="Recovered"/>
/// false and the client should reload.
/// </summary>
[DataContract]
public sealed class SubscribeResult
{
    [DataMember(Name = "group")]
    public string Group { get; set; } = "";
    [DataMember(Name = "epoch")]
    public string Epoch { get; set; } = "";
    [DataMember(Name = "offset")]
    public long Offset { get; set; }
    [DataMember(Name = "recovered")]
    public bool Recovered { get; set; }
    [DataMember(Name = "hasMore")]
    public bool HasMore { get; set; }
    [DataMember(Name = "messages")]
    public List<GroupEnvelope> Messages { get; set; } = [];
}

/// <summary>A page of history (<c>GetHistory</c>, <c>GET /api/groups/{group}/messages</c>).</summary>
[DataContract]
public sealed class HistoryPageDto
{
    [DataMember(Name = "group")]
    public string Group { get; set; } = "";
    [DataMember(Name = "epoch")]
    public string Epoch { get; set; } = "";
    /// <summary>The group's newest offset.</summary>
    [DataMember(Name = "offset")]
    public long Offset { get; set; }
    /// <summary>The lowest offset still stored.</summary>
    [DataMember(Name = "firstRetained")]
    public long FirstRetained { get; set; }
    [DataMember(Name = "hasMore")]
    public bool HasMore { get; set; }
    [DataMember(Name = "messages")]
    public List<GroupEnvelope> Messages { get; set; } = [];
}

/// <summary>The argument of <c>Publish</c> and the body of <c>POST /api/groups/{group}/messages</c>: <c>{ id?, message }</c>.</summary>
[DataContract]
public sealed class PublishRequest
{
    /// <summary>Optional client-chosen id; a repeat within the idempotency window is acknowledged but not stored or delivered again.</summary>
    [DataMember(Name = "id")]
    public string? Id { get; set; }
    [DataMember(Name = "message")]
    public string? Message { get; set; }
}

/// <summary>The acknowledgement of a publish: <c>{ id, group, offset, epoch, duplicate }</c>. Returned only once the message is durable.</summary>
[DataContract]
public sealed class PublishResult
{
    [DataMember(Name = "id")]
    public string Id { get; set; } = "";
    [DataMember(Name = "group")]
    public string Group { get; set; } = "";
    [DataMember(Name = "offset")]
    public long Offset { get; set; }
    [DataMember(Name = "epoch")]
    public string Epoch { get; set; } = "";
    [DataMember(Name = "duplicate")]
    public bool Duplicate { get; set; }
}

/// <summary><c>PresenceJoined</c>/<c>PresenceLeft</c>: <c>{ group, userId, name }</c>.</summary>
[DataContract]
public sealed class PresenceEvent
{
    [DataMember(Name = "group")]
    public string Group { get; set; } = "";
    [DataMember(Name = "userId")]
    public string UserId { get; set; } = "";
    [DataMember(Name = "name")]
    public string Name { get; set; } = "";
}

/// <summary>A member of a group: <c>{ userId, name, connections, joinedAt }</c>.</summary>
[DataContract]
public sealed class PresenceMemberDto
{
    [DataMember(Name = "userId")]
    public string UserId { get; set; } = "";
    [DataMember(Name = "name")]
    public string Name { get; set; } = "";
    [DataMember(Name = "connections")]
    public int Connections { get; set; }
    [DataMember(Name = "joinedAt")]
    public DateTime JoinedAt { get; set; }
}

/// <summary>Who is in a group: <c>{ group, users, connections, members }</c>.</summary>
[DataContract]
public sealed class GroupPresenceDto
{
    [DataMember(Name = "group")]
    public string Group { get; set; } = "";
    [DataMember(Name = "users")]
    public int Users { get; set; }
    [DataMember(Name = "connections")]
    public int Connections { get; set; }
    [DataMember(Name = "members")]
    public List<PresenceMemberDto> Members { get; set; } = [];
}
