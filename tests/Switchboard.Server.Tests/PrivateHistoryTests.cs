using Microsoft.AspNetCore.SignalR.Client;
using Switchboard.Contracts;
using Switchboard.Server.Tests.Infrastructure;

namespace Switchboard.Server.Tests;

public sealed class PrivateHistoryTests(SwitchboardFactory server) : IClassFixture<SwitchboardFactory>
{
    [Fact]
    public async Task PrivateMessagesSentWhileAwayAreRecoveredInOrder()
    {
        await using var sender = await server.ConnectAsync(HubRoutes.SecureChat, server.Token("pam", "Pam"));
        var first = await server.ConnectAsync(HubRoutes.SecureChat, server.Token("rick"));
        var live = Events.On<GroupEnvelope>(first, ClientEvents.ReceiveGroupMessage);
        var subscribed = await first.InvokeAsync<SubscribeResult>(HubMethods.SubscribePrivate, new SubscribeRequest()).DefaultTimeout();
        await sender.InvokeAsync(HubMethods.SendPrivateMessage, "rick", "p1").DefaultTimeout();
        var seen = await live.NextAsync();
        await first.DisposeAsync();

        for (var i = 2; i <= 6; i++)
            await sender.InvokeAsync(HubMethods.SendPrivateMessage, "rick", $"p{i}").DefaultTimeout();

        await using var again = await server.ConnectAsync(HubRoutes.SecureChat, server.Token("rick"));
        var recovered = await again.InvokeAsync<SubscribeResult>(HubMethods.SubscribePrivate,
            new SubscribeRequest { Offset = seen.Offset, Epoch = seen.Epoch }).DefaultTimeout();

        Assert.Equal("user:rick", subscribed.Group);
        Assert.Equal(("p1", "pam", "Pam"), (seen.Payload, seen.SenderId, seen.SenderName));
        Assert.True(recovered.Recovered);
        Assert.Equal(["p2", "p3", "p4", "p5", "p6"], recovered.Messages.Select(m => m.Payload));
        Assert.Equal(Enumerable.Range((int)seen.Offset + 1, 5).Select(i => (long)i), recovered.Messages.Select(m => m.Offset));
    }

    [Fact]
    public async Task ASubscribedConnectionGetsEnvelopesInsteadOfThePlainEventAndOthersKeepThePlainEvent()
    {
        await using var sender = await server.ConnectAsync(HubRoutes.SecureChat, server.Token("pia"));
        await using var subscribed = await server.ConnectAsync(HubRoutes.SecureChat, server.Token("ray"));
        await using var plain = await server.ConnectAsync(HubRoutes.SecureChat, server.Token("ray"));
        var envelopes = Events.On<GroupEnvelope>(subscribed, ClientEvents.ReceiveGroupMessage);
        var plainAtSubscribed = Events.On<string, string>(subscribed, ClientEvents.PrivateMessage);
        var plainAtPlain = Events.On<string, string>(plain, ClientEvents.PrivateMessage);
        await subscribed.InvokeAsync<SubscribeResult>(HubMethods.SubscribePrivate, new SubscribeRequest()).DefaultTimeout();

        await sender.InvokeAsync(HubMethods.SendPrivateMessage, "ray", "hello ray").DefaultTimeout();

        Assert.Equal("hello ray", (await envelopes.NextAsync()).Payload);
        Assert.Equal(("pia", "hello ray"), await plainAtPlain.NextAsync());
        await sender.InvokeAsync(HubMethods.SendPrivateMessage, "ray", "second").DefaultTimeout();
        Assert.Equal("second", (await envelopes.NextAsync()).Payload);
        Assert.Empty(plainAtSubscribed.Drain());
    }

    [Fact]
    public async Task AUserReadsOnlyTheirOwnPrivateHistory()
    {
        await using var sender = await server.ConnectAsync(HubRoutes.SecureChat, server.Token("pete"));
        await using var owner = await server.ConnectAsync(HubRoutes.SecureChat, server.Token("rosa"));
        await using var snoop = await server.ConnectAsync(HubRoutes.SecureChat, server.Token("sly"));
        await sender.InvokeAsync(HubMethods.SendPrivateMessage, "rosa", "for rosa only").DefaultTimeout();

        var mine = await owner.InvokeAsync<HistoryPageDto>(HubMethods.GetPrivateHistory, 0L, 10).DefaultTimeout();
        var theirs = await snoop.InvokeAsync<HistoryPageDto>(HubMethods.GetPrivateHistory, 0L, 10).DefaultTimeout();

        Assert.Equal(["for rosa only"], mine.Messages.Select(m => m.Payload));
        Assert.Equal("user:sly", theirs.Group);
        Assert.DoesNotContain(theirs.Messages, m => m.Payload == "for rosa only");
    }
}
