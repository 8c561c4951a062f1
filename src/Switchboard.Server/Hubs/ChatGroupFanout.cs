using Microsoft.AspNetCore.SignalR;
using Switchboard.Contracts;
using Switchboard.Core.History;
using Switchboard.Core.Publishing;
using Switchboard.Core.Validation;

namespace Switchboard.Server.Hubs;

/// <summary>
/// Delivers stored messages. Every message goes out twice, once per audience, so nobody gets
/// it twice: the guide's event to connections in the plain group, and
/// <c>ReceiveGroupMessage(envelope)</c> to connections that subscribed (a shadow group whose
/// name clients cannot join, since '$' is not allowed in group names).
/// <list type="bullet">
/// <item>Chat groups: <c>ReceiveMessage(user, message)</c> on the chat hub.</item>
/// <item>Private channels <c>user:{id}</c>: <c>PrivateMessage(senderId, message)</c> on the secure chat hub.</item>
/// </list>
/// </summary>
internal sealed class ChatGroupFanout(IHubContext<ChatHub> chat, IHubContext<SecureChatHub> secure) : IGroupFanout
{
    public Task Deliver(GroupMessage message)
    {
        // Both sends start here, synchronously, so the order of Deliver calls is the order on the wire.
        Task plain, enveloped;
        if (message.Group.StartsWith(InputRules.ReservedUserPrefix, StringComparison.Ordinal))
        {
            plain = secure.Clients.Group(ChatGroups.Plain(message.Group)).SendAsync(ClientEvents.PrivateMessage, message.SenderId, message.Payload);
            enveloped = secure.Clients.Group(ChatGroups.Envelopes(message.Group)).SendAsync(ClientEvents.ReceiveGroupMessage, message.ToEnvelope());
        }
        else
        {
            plain = chat.Clients.Group(ChatGroups.Plain(message.Group)).SendAsync(ClientEvents.ReceiveMessage, message.SenderName, message.Payload);
            enveloped = chat.Clients.Group(ChatGroups.Envelopes(message.Group)).SendAsync(ClientEvents.ReceiveGroupMessage, message.ToEnvelope());
        }
        return Task.WhenAll(plain, enveloped);
    }
}
