using Microsoft.AspNetCore.SignalR;
using Switchboard.Contracts;
using Switchboard.Core.History;
using Switchboard.Core.Publishing;

namespace Switchboard.Server.Hubs;

/// <summary>
/// Delivers chat group messages. Every message goes out twice, once per audience: as the guide's
/// <c>ReceiveMessage(user, message)</c> to connections that joined with <c>JoinGroup</c>, and as
/// <c>ReceiveGroupMessage(envelope)</c> to connections that subscribed with <c>Subscribe</c>. The
/// subscribers sit in a shadow SignalR group whose name clients cannot join directly ('$' is not
/// allowed in group names), so nobody receives a message twice.
/// </summary>
internal sealed class ChatGroupFanout(IHubContext<ChatHub> hub) : IGroupFanout
{
    public Task Deliver(GroupMessage message)
    {
        // Both sends start here, synchronously, so the order of Deliver calls is the order on the wire.
        var plain = hub.Clients.Group(ChatGroups.Plain(message.Group)).SendAsync(ClientEvents.ReceiveMessage, message.SenderName, message.Payload);
        var enveloped = hub.Clients.Group(ChatGroups.Envelopes(message.Group)).SendAsync(ClientEvents.ReceiveGroupMessage, message.ToEnvelope());
        return Task.WhenAll(plain, enveloped);
    }
}
