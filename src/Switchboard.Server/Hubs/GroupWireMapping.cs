using Switchboard.Contracts;
using Switchboard.Core.History;
using Switchboard.Core.Presence;

namespace Switchboard.Server.Hubs;

/// <summary>Core history records to their wire shapes.</summary>
internal static class GroupWireMapping
{
    public static GroupEnvelope ToEnvelope(this GroupMessage m) => new()
    {
        Id = m.Id, Group = m.Group, Offset = m.Offset, Epoch = m.Epoch,
        SenderId = m.SenderId, SenderName = m.SenderName, Timestamp = m.Timestamp, Payload = m.Payload,
    };

    public static PublishResult ToPublishResult(this AppendResult r) => new()
    {
        Id = r.Message.Id, Group = r.Message.Group, Offset = r.Message.Offset, Epoch = r.Message.Epoch, Duplicate = r.Duplicate,
    };

    public static HistoryPageDto ToDto(this HistoryPage page, string group) => new()
    {
        Group = group, Epoch = page.Top.Epoch, Offset = page.Top.Offset, FirstRetained = page.FirstRetained,
        HasMore = page.HasMore, Messages = [.. page.Messages.Select(ToEnvelope)],
    };

    public static GroupPresenceDto ToDto(this GroupPresence p) => new()
    {
        Group = p.Group, Users = p.Users, Connections = p.Connections,
        Members = [.. p.Members.Select(m => new PresenceMemberDto { UserId = m.UserId, Name = m.Name, Connections = m.Connections, JoinedAt = m.JoinedAt })],
    };

    public static SubscribeResult ToDto(this RecoveryResult r, string group) => new()
    {
        Group = group, Epoch = r.Top.Epoch, Offset = r.Top.Offset, Recovered = r.Recovered, HasMore = r.HasMore,
        Messages = [.. r.Messages.Select(ToEnvelope)],
    };
}
