using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;
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
/// Several messages of a group that are ready together go out as an <see cref="InvocationRun"/>:
/// the same frames, written to each connection in one write.
/// </summary>
internal sealed class ChatGroupFanout(IHubContext<ChatHub> chat, IHubContext<SecureChatHub> secure) : IGroupFanout
{
    public Task Deliver(IReadOnlyList<GroupMessage> messages)
    {
        // All of one group; each message is one frame per audience.
        var group = messages[0].Group;
        var isPrivate = group.StartsWith(InputRules.ReservedUserPrefix, StringComparison.Ordinal);
        var plainFrames = new InvocationMessage[messages.Count];
        var envelopeFrames = new InvocationMessage[messages.Count];
        for (var i = 0; i < messages.Count; i++)
        {
            var message = messages[i];
            plainFrames[i] = isPrivate
                ? new InvocationMessage(ClientEvents.PrivateMessage, [message.SenderId, message.Payload])
                : new InvocationMessage(ClientEvents.ReceiveMessage, [message.SenderName, message.Payload]);
            envelopeFrames[i] = new InvocationMessage(ClientEvents.ReceiveGroupMessage, [message.ToEnvelope()]);
        }
        var clients = isPrivate ? secure.Clients : chat.Clients;
        // Both sends start here, synchronously, so the order of Deliver calls is the order on the wire.
        var plain = Send(clients.Group(ChatGroups.Plain(group)), plainFrames);
        var enveloped = Send(clients.Group(ChatGroups.Envelopes(group)), envelopeFrames);
        return Task.WhenAll(plain, enveloped);
    }

    /// <summary>One frame as the plain invocation it is; several as one run, written to each connection at once.</summary>
    private static Task Send(IClientProxy audience, InvocationMessage[] frames) => frames.Length == 1
        ? audience.SendCoreAsync(frames[0].Target, frames[0].Arguments)
        : audience.SendAsync(InvocationRun.Target, new InvocationRun(frames));
}
