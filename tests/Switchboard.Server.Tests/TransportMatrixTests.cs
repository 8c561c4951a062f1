using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using Switchboard.Contracts;
using Switchboard.Server.Tests.Infrastructure;

namespace Switchboard.Server.Tests;

/// <summary>The chat hub's group paths over every transport and protocol the official client offers.</summary>
public sealed class TransportMatrixTests(SwitchboardFactory server) : IClassFixture<SwitchboardFactory>
{
    // A payload with non-ASCII text, a line break and some length, so framing of each transport is exercised.
    private const string Payload = "line one\nline two: ünïcödé ✓ \"quoted\" " + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    public static TheoryData<HttpTransportType, bool> Combinations() => new()
    {
        { HttpTransportType.WebSockets, false },
        { HttpTransportType.WebSockets, true },
        { HttpTransportType.ServerSentEvents, false },
        // No ServerSentEvents with MessagePack: SSE carries text only and MessagePack is a binary
        // protocol, so the client (and SignalR itself) refuses that pairing.
        { HttpTransportType.LongPolling, false },
        { HttpTransportType.LongPolling, true },
    };

    private static string Group(string kind, HttpTransportType transport, bool messagePack) =>
        $"matrix-{kind}-{transport}-{(messagePack ? "msgpack" : "json")}";

    [Theory]
    [MemberData(nameof(Combinations))]
    public async Task AGroupMessageReachesAMemberThatJoined(HttpTransportType transport, bool messagePack)
    {
        var group = Group("join", transport, messagePack);
        await using var member = server.Hub(HubRoutes.Chat, server.Token("mia", "Mia"), transport, messagePack);
        await using var sender = server.Hub(HubRoutes.Chat, server.Token("sam", "Sam"), transport, messagePack);
        var received = Events.On<string, string>(member, ClientEvents.ReceiveMessage);
        var joined = Events.On<string, string>(member, ClientEvents.UserJoined);
        await member.StartedAsync();
        await sender.StartedAsync();
        await member.InvokeAsync(HubMethods.JoinGroup, group).DefaultTimeout();
        Assert.Equal((member.ConnectionId!, group), await joined.NextAsync());

        await sender.InvokeAsync(HubMethods.SendMessageToGroup, group, "ignored", Payload).DefaultTimeout();

        Assert.Equal(("Sam", Payload), await received.NextAsync());
    }

    [Theory]
    [MemberData(nameof(Combinations))]
    public async Task APublishedMessageReachesASubscriberAsAnEnvelope(HttpTransportType transport, bool messagePack)
    {
        var group = Group("subscribe", transport, messagePack);
        await using var subscriber = server.Hub(HubRoutes.Chat, server.Token("sue", "Sue"), transport, messagePack);
        await using var publisher = server.Hub(HubRoutes.Chat, server.Token("pat", "Pat"), transport, messagePack);
        var envelopes = Events.On<GroupEnvelope>(subscriber, ClientEvents.ReceiveGroupMessage);
        await subscriber.StartedAsync();
        await publisher.StartedAsync();
        var position = await subscriber.InvokeAsync<SubscribeResult>(HubMethods.Subscribe, group, new SubscribeRequest()).DefaultTimeout();
        Assert.Equal(group, position.Group);
        Assert.Empty(position.Messages);
        var before = DateTime.UtcNow;

        var ack = await publisher.InvokeAsync<PublishResult>(HubMethods.Publish, group,
            new PublishRequest { Id = "m-" + transport + messagePack, Message = Payload }).DefaultTimeout();

        var envelope = await envelopes.NextAsync();
        Assert.Equal(group, ack.Group);
        Assert.False(ack.Duplicate);
        Assert.True(ack.Offset > position.Offset);
        Assert.Equal(ack.Id, envelope.Id);
        Assert.Equal(group, envelope.Group);
        Assert.Equal(ack.Offset, envelope.Offset);
        Assert.Equal(ack.Epoch, envelope.Epoch);
        Assert.Equal(position.Epoch, envelope.Epoch);
        Assert.Equal("pat", envelope.SenderId);
        Assert.Equal("Pat", envelope.SenderName);
        Assert.Equal(Payload, envelope.Payload);
        Assert.InRange(envelope.Timestamp.ToUniversalTime(), before.AddSeconds(-1), DateTime.UtcNow.AddSeconds(1));
    }
}
