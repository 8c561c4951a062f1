using System.Net;
using System.Net.Http.Json;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Switchboard.Contracts;
using Switchboard.Core.History;
using Switchboard.Server.Tests.Infrastructure;

namespace Switchboard.Server.Tests;

public sealed class HistoryTests(SwitchboardFactory server) : IClassFixture<SwitchboardFactory>
{
    private static string NewGroup() => "g-" + Guid.NewGuid().ToString("N")[..12];

    [Fact]
    public async Task PublishesAreAcknowledgedWithConsecutiveOffsetsInOneEpoch()
    {
        var group = NewGroup();
        await using var client = await server.ConnectAsync(HubRoutes.Chat, server.Token("ann", "Ann"));

        var acks = new List<PublishResult>();
        for (var i = 1; i <= 3; i++)
        {
            acks.Add(await client.InvokeAsync<PublishResult>(HubMethods.Publish, group, new PublishRequest { Message = $"m{i}" }).DefaultTimeout());
        }
        await client.InvokeAsync(HubMethods.SendMessageToGroup, group, "x", "m4").DefaultTimeout();
        var page = await client.InvokeAsync<HistoryPageDto>(HubMethods.GetHistory, group, 0L, 10).DefaultTimeout();

        Assert.Equal([1L, 2L, 3L], acks.Select(a => a.Offset));
        Assert.Single(acks.Select(a => a.Epoch).Distinct());
        Assert.Equal(["m1", "m2", "m3", "m4"], page.Messages.Select(m => m.Payload));
        Assert.Equal([1L, 2L, 3L, 4L], page.Messages.Select(m => m.Offset));
        Assert.All(page.Messages, m => Assert.Equal(("ann", "Ann"), (m.SenderId, m.SenderName)));
        Assert.Equal(acks[0].Epoch, page.Epoch);
    }

    [Fact]
    public async Task SubscribersGetEnvelopesWhileJoinersGetTheGuidesEvent()
    {
        var group = NewGroup();
        await using var joiner = server.Hub(HubRoutes.Chat, server.Token("bea"));
        await using var subscriber = server.Hub(HubRoutes.Chat, server.Token("cal"));
        var plainAtJoiner = Events.On<string, string>(joiner, ClientEvents.ReceiveMessage);
        var plainAtSubscriber = Events.On<string, string>(subscriber, ClientEvents.ReceiveMessage);
        var envelopes = Events.On<GroupEnvelope>(subscriber, ClientEvents.ReceiveGroupMessage);
        await Task.WhenAll(joiner.StartedAsync(), subscriber.StartedAsync()).DefaultTimeout();
        await joiner.InvokeAsync(HubMethods.JoinGroup, group).DefaultTimeout();
        var subscribed = await subscriber.InvokeAsync<SubscribeResult>(HubMethods.Subscribe, group, new SubscribeRequest()).DefaultTimeout();

        await joiner.InvokeAsync(HubMethods.SendMessageToGroup, group, "bea", "hello").DefaultTimeout();

        Assert.Equal(0, subscribed.Offset);
        Assert.Equal(("bea", "hello"), await plainAtJoiner.NextAsync());
        var envelope = await envelopes.NextAsync();
        Assert.Equal((group, 1L, subscribed.Epoch, "bea", "hello"), (envelope.Group, envelope.Offset, envelope.Epoch, envelope.SenderId, envelope.Payload));
        Assert.Empty(plainAtSubscriber.Drain());
    }

    [Fact]
    public async Task AFirstSubscriptionCanAskForTheLastMessages()
    {
        var group = NewGroup();
        await using var client = await server.ConnectAsync(HubRoutes.Chat, server.Token("dan"));
        for (var i = 1; i <= 8; i++)
            await client.InvokeAsync<PublishResult>(HubMethods.Publish, group, new PublishRequest { Message = $"m{i}" }).DefaultTimeout();

        var result = await client.InvokeAsync<SubscribeResult>(HubMethods.Subscribe, group, new SubscribeRequest { History = 3 }).DefaultTimeout();

        Assert.Equal(["m6", "m7", "m8"], result.Messages.Select(m => m.Payload));
        Assert.Equal(8, result.Offset);
        Assert.False(result.Recovered);
    }

    [Fact]
    public async Task AReconnectingSubscriberRecoversEverythingItMissedInOrder()
    {
        var group = NewGroup();
        await using var publisher = await server.ConnectAsync(HubRoutes.Chat, server.Token("eli"));
        var reader = server.Hub(HubRoutes.Chat, server.Token("fay"));
        var live = Events.On<GroupEnvelope>(reader, ClientEvents.ReceiveGroupMessage);
        await reader.StartedAsync();
        var first = await reader.InvokeAsync<SubscribeResult>(HubMethods.Subscribe, group, new SubscribeRequest()).DefaultTimeout();
        for (var i = 1; i <= 5; i++)
            await publisher.InvokeAsync<PublishResult>(HubMethods.Publish, group, new PublishRequest { Message = $"m{i}" }).DefaultTimeout();
        GroupEnvelope last = null!;
        for (var i = 1; i <= 5; i++) last = await live.NextAsync();
        await reader.DisposeAsync();

        // 1,000 messages are published while the reader is away.
        for (var i = 6; i <= 1005; i++)
            await publisher.SendAsync(HubMethods.Publish, group, new PublishRequest { Message = $"m{i}" }).DefaultTimeout();
        await publisher.InvokeAsync<PublishResult>(HubMethods.Publish, group, new PublishRequest { Message = "m1006" }).DefaultTimeout();

        await using var again = await server.ConnectAsync(HubRoutes.Chat, server.Token("fay"));
        var recovered = await again.InvokeAsync<SubscribeResult>(HubMethods.Subscribe, group,
            new SubscribeRequest { Offset = last.Offset, Epoch = last.Epoch }).DefaultTimeout();
        var messages = new List<GroupEnvelope>(recovered.Messages);
        var hasMore = recovered.HasMore;
        while (hasMore)
        {
            var page = await again.InvokeAsync<HistoryPageDto>(HubMethods.GetHistory, group, messages[^1].Offset, 500).DefaultTimeout();
            messages.AddRange(page.Messages);
            hasMore = page.HasMore;
        }

        Assert.True(recovered.Recovered);
        Assert.Equal(first.Epoch, recovered.Epoch);
        Assert.Equal(5, last.Offset);
        Assert.Equal(Enumerable.Range(6, 1001).Select(i => (long)i), messages.Select(m => m.Offset));
        Assert.Equal(Enumerable.Range(6, 1001).Select(i => $"m{i}"), messages.Select(m => m.Payload));
    }

    [Fact]
    public async Task RecoveryWithAnotherEpochOrAnOffsetAheadIsNotRecovered()
    {
        var group = NewGroup();
        await using var client = await server.ConnectAsync(HubRoutes.Chat, server.Token("gus"));
        var ack = await client.InvokeAsync<PublishResult>(HubMethods.Publish, group, new PublishRequest { Message = "m1" }).DefaultTimeout();

        var otherEpoch = await client.InvokeAsync<SubscribeResult>(HubMethods.Subscribe, group,
            new SubscribeRequest { Offset = 0, Epoch = "not-the-epoch" }).DefaultTimeout();
        var ahead = await client.InvokeAsync<SubscribeResult>(HubMethods.Subscribe, group,
            new SubscribeRequest { Offset = 7, Epoch = ack.Epoch }).DefaultTimeout();
        var fine = await client.InvokeAsync<SubscribeResult>(HubMethods.Subscribe, group,
            new SubscribeRequest { Offset = 0, Epoch = ack.Epoch }).DefaultTimeout();

        Assert.False(otherEpoch.Recovered);
        Assert.Empty(otherEpoch.Messages);
        Assert.False(ahead.Recovered);
        Assert.True(fine.Recovered);
        Assert.Equal(["m1"], fine.Messages.Select(m => m.Payload));
    }

    [Fact]
    public async Task ARepeatedMessageIdIsStoredAndDeliveredOnce()
    {
        var group = NewGroup();
        await using var client = server.Hub(HubRoutes.Chat, server.Token("hal"));
        var envelopes = Events.On<GroupEnvelope>(client, ClientEvents.ReceiveGroupMessage);
        await client.StartedAsync();
        await client.InvokeAsync<SubscribeResult>(HubMethods.Subscribe, group, new SubscribeRequest()).DefaultTimeout();

        var first = await client.InvokeAsync<PublishResult>(HubMethods.Publish, group, new PublishRequest { Id = "order-42", Message = "once" }).DefaultTimeout();
        var repeat = await client.InvokeAsync<PublishResult>(HubMethods.Publish, group, new PublishRequest { Id = "order-42", Message = "once" }).DefaultTimeout();
        await client.InvokeAsync<PublishResult>(HubMethods.Publish, group, new PublishRequest { Message = "next" }).DefaultTimeout();

        Assert.False(first.Duplicate);
        Assert.True(repeat.Duplicate);
        Assert.Equal(first.Offset, repeat.Offset);
        Assert.Equal("once", (await envelopes.NextAsync()).Payload);
        Assert.Equal(("next", 2L), ((await envelopes.NextAsync()) is var e ? (e.Payload, e.Offset) : default));
        var page = await client.InvokeAsync<HistoryPageDto>(HubMethods.GetHistory, group, 0L, 10).DefaultTimeout();
        Assert.Equal(["once", "next"], page.Messages.Select(m => m.Payload));
    }

    [Theory]
    [InlineData("bad id!", ErrorCodes.MessageIdInvalid)]
    [InlineData("", ErrorCodes.MessageIdInvalid)]
    public async Task InvalidMessageIdsAreRefused(string id, string code)
    {
        await using var client = await server.ConnectAsync(HubRoutes.Chat, server.Token("ida"));
        var error = await Assert.ThrowsAsync<HubException>(() =>
            client.InvokeAsync<PublishResult>(HubMethods.Publish, NewGroup(), new PublishRequest { Id = id, Message = "x" }).DefaultTimeout());
        Assert.Contains(code, error.Message);
    }

    [Fact]
    public async Task ConcurrentPublishesAreDeliveredInOffsetOrder()
    {
        // Messages stored together go out as one write per connection (a run of frames); every
        // protocol and transport still sees each message once, in offset order.
        var group = NewGroup();
        await using var subscriber = server.Hub(HubRoutes.Chat, server.Token("jon"));
        await using var packSubscriber = server.Hub(HubRoutes.Chat, server.Token("kim"), messagePack: true);
        await using var joiner = server.Hub(HubRoutes.Chat, server.Token("lea"));
        await using var pollingJoiner = server.Hub(HubRoutes.Chat, server.Token("max"), Microsoft.AspNetCore.Http.Connections.HttpTransportType.LongPolling);
        var envelopes = Events.On<GroupEnvelope>(subscriber, ClientEvents.ReceiveGroupMessage);
        var packEnvelopes = Events.On<GroupEnvelope>(packSubscriber, ClientEvents.ReceiveGroupMessage);
        var plain = Events.On<string, string>(joiner, ClientEvents.ReceiveMessage);
        var polled = Events.On<string, string>(pollingJoiner, ClientEvents.ReceiveMessage);
        await Task.WhenAll(subscriber.StartedAsync(), packSubscriber.StartedAsync(), joiner.StartedAsync(), pollingJoiner.StartedAsync()).DefaultTimeout();
        await subscriber.InvokeAsync<SubscribeResult>(HubMethods.Subscribe, group, new SubscribeRequest()).DefaultTimeout();
        await packSubscriber.InvokeAsync<SubscribeResult>(HubMethods.Subscribe, group, new SubscribeRequest()).DefaultTimeout();
        await joiner.InvokeAsync(HubMethods.JoinGroup, group).DefaultTimeout();
        await pollingJoiner.InvokeAsync(HubMethods.JoinGroup, group).DefaultTimeout();
        using var http = server.Http(server.Token("backend", roles: ["Publisher"]));

        var responses = await Task.WhenAll(Enumerable.Range(0, 200).Select(i =>
            http.PostAsJsonAsync($"/api/groups/{group}/messages", new PublishRequest { Message = $"p{i}" }))).DefaultTimeout();

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        var stored = (await Task.WhenAll(responses.Select(r => r.Content.ReadFromJsonAsync<PublishResult>()))).ToDictionary(a => a!.Offset, a => a!.Id);
        var expected = Enumerable.Range(1, 200).Select(i => (long)i).ToList();
        foreach (var events in new[] { envelopes, packEnvelopes })
        {
            var received = new List<GroupEnvelope>();
            for (var i = 0; i < 200; i++) received.Add(await events.NextAsync());
            Assert.Equal(expected, received.Select(e => e.Offset));
            Assert.Equal(expected.Select(o => stored[o]), received.Select(e => e.Id));
        }
        var page = await subscriber.InvokeAsync<HistoryPageDto>(HubMethods.GetHistory, group, 0L, 200).DefaultTimeout();
        foreach (var events in new[] { plain, polled })
        {
            var received = new List<string>();
            for (var i = 0; i < 200; i++) received.Add((await events.NextAsync()).Item2);
            Assert.Equal(page.Messages.Select(m => m.Payload), received);
        }
        Assert.Empty(envelopes.Drain());
        Assert.Empty(plain.Drain());
    }

    [Fact]
    public async Task TheHttpApiPublishesAndPagesThroughHistory()
    {
        var group = NewGroup();
        using var http = server.Http(server.Token("backend", "Backend", ["Publisher"]));

        var ack = await (await http.PostAsJsonAsync($"/api/groups/{group}/messages", new PublishRequest { Id = "a1", Message = "first" }).DefaultTimeout())
            .Content.ReadFromJsonAsync<PublishResult>();
        var repeat = await (await http.PostAsJsonAsync($"/api/groups/{group}/messages", new PublishRequest { Id = "a1", Message = "first" }).DefaultTimeout())
            .Content.ReadFromJsonAsync<PublishResult>();
        await http.PostAsJsonAsync($"/api/groups/{group}/messages", new PublishRequest { Message = "second" }).DefaultTimeout();
        var page = await http.GetFromJsonAsync<HistoryPageDto>($"/api/groups/{group}/messages?after=1&limit=10").DefaultTimeout();

        Assert.Equal((1L, false), (ack!.Offset, ack.Duplicate));
        Assert.Equal((1L, true), (repeat!.Offset, repeat.Duplicate));
        Assert.Equal(["second"], page!.Messages.Select(m => m.Payload));
        Assert.Equal(("backend", "Backend"), (page.Messages[0].SenderId, page.Messages[0].SenderName));
        Assert.Equal(2, page.Offset);
        Assert.Equal(1, page.FirstRetained);
    }

    [Theory]
    [InlineData("{bad", ErrorCodes.BodyInvalid)]
    [InlineData("\"just a string\"", ErrorCodes.BodyInvalid)]
    [InlineData("{\"message\":\"  \"}", ErrorCodes.MessageEmpty)]
    [InlineData("{\"message\":\"x\",\"id\":\"no spaces\"}", ErrorCodes.MessageIdInvalid)]
    public async Task BadPublishBodiesAreProblemsWithTheirCode(string body, string code)
    {
        using var http = server.Http(server.Token("backend", roles: ["Admin"]));
        var response = await http.PostAsync($"/api/groups/{NewGroup()}/messages",
            new StringContent(body, System.Text.Encoding.UTF8, "application/json")).DefaultTimeout();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<Dictionary<string, object>>();
        Assert.Equal(code, problem!["code"].ToString());
    }

    [Fact]
    public async Task TheGroupsApiRefusesAnonymousCallersAndOtherRoles()
    {
        using var anonymous = server.Http();
        using var member = server.Http(server.Token("kim"));
        var group = NewGroup();

        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync($"/api/groups/{group}/messages").DefaultTimeout()).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await member.GetAsync($"/api/groups/{group}/messages").DefaultTimeout()).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await member.PostAsJsonAsync($"/api/groups/{group}/messages", new PublishRequest { Message = "x" }).DefaultTimeout()).StatusCode);
    }
}

/// <summary>A server that keeps only 10 messages per group.</summary>
public sealed class ShortHistoryServer() : SwitchboardFactoryWith(new() { ["Switchboard:History:MaxMessagesPerGroup"] = "10" });

public sealed class RetentionTests(ShortHistoryServer server) : IClassFixture<ShortHistoryServer>
{
    [Fact]
    public async Task AGapThatFellOutOfRetentionIsNotRecovered()
    {
        await using var client = await server.ConnectAsync(HubRoutes.Chat, server.Token("lou"));
        PublishResult ack = null!;
        for (var i = 1; i <= 30; i++)
            ack = await client.InvokeAsync<PublishResult>(HubMethods.Publish, "trimmed", new PublishRequest { Message = $"m{i}" }).DefaultTimeout();

        await server.Get<IHistoryStore>().TrimAsync().AsTask().DefaultTimeout();
        var lost = await client.InvokeAsync<SubscribeResult>(HubMethods.Subscribe, "trimmed",
            new SubscribeRequest { Offset = 5, Epoch = ack.Epoch }).DefaultTimeout();
        var kept = await client.InvokeAsync<SubscribeResult>(HubMethods.Subscribe, "trimmed",
            new SubscribeRequest { Offset = 20, Epoch = ack.Epoch }).DefaultTimeout();

        Assert.False(lost.Recovered);
        Assert.Empty(lost.Messages);
        Assert.True(kept.Recovered);
        Assert.Equal(Enumerable.Range(21, 10).Select(i => (long)i), kept.Messages.Select(m => m.Offset));
    }
}

public sealed class CrashRecoveryTests
{
    [Fact]
    public async Task AServerKilledWithSigkillKeepsHistoryOffsetsAndEpoch()
    {
        var data = Directory.CreateTempSubdirectory("switchboard-kill-").FullName;
        try
        {
            var token = new Switchboard.Server.Authentication.TokenIssuer(
                Microsoft.Extensions.Options.Options.Create(new Switchboard.Server.Authentication.JwtOptions { Key = SwitchboardFactory.TestKey }),
                TimeProvider.System).Issue("backend", roles: ["Publisher"]);
            List<PublishResult> acks = [];
            await using (var first = await ServerProcess.StartAsync(data))
            {
                using var http = new HttpClient { BaseAddress = new Uri(first.BaseUrl), Timeout = TestTimeouts.Network };
                http.DefaultRequestHeaders.Authorization = new("Bearer", token);
                for (var i = 1; i <= 20; i++)
                {
                    var response = await http.PostAsJsonAsync("/api/groups/durable/messages", new PublishRequest { Id = $"k{i}", Message = $"m{i}" });
                    acks.Add((await response.Content.ReadFromJsonAsync<PublishResult>())!);
                }
                await first.KillAsync();
            }

            await using var second = await ServerProcess.StartAsync(data);
            using var again = new HttpClient { BaseAddress = new Uri(second.BaseUrl), Timeout = TestTimeouts.Network };
            again.DefaultRequestHeaders.Authorization = new("Bearer", token);
            var page = await again.GetFromJsonAsync<HistoryPageDto>("/api/groups/durable/messages?after=0&limit=100").DefaultTimeout();
            var next = await (await again.PostAsJsonAsync("/api/groups/durable/messages", new PublishRequest { Message = "after restart" }))
                .Content.ReadFromJsonAsync<PublishResult>();
            var repeat = await (await again.PostAsJsonAsync("/api/groups/durable/messages", new PublishRequest { Id = "k20", Message = "m20" }))
                .Content.ReadFromJsonAsync<PublishResult>();

            Assert.Equal(Enumerable.Range(1, 20).Select(i => $"m{i}"), page!.Messages.Select(m => m.Payload));
            Assert.Equal(acks[0].Epoch, page.Epoch);
            Assert.Equal((21L, acks[0].Epoch), (next!.Offset, next.Epoch));
            Assert.True(repeat!.Duplicate);
            Assert.Equal(20, repeat.Offset);
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }
}

/// <summary>A server with durable history switched off.</summary>
public sealed class NoHistoryServer() : SwitchboardFactoryWith(new() { ["Switchboard:History:Enabled"] = "false" });

public sealed class DisabledHistoryTests(NoHistoryServer server) : IClassFixture<NoHistoryServer>
{
    [Fact]
    public async Task WithHistoryOffMessagesAreNumberedAndDeliveredButNotKept()
    {
        await using var client = server.Hub(HubRoutes.Chat, server.Token("nia"));
        var envelopes = Events.On<GroupEnvelope>(client, ClientEvents.ReceiveGroupMessage);
        await client.StartedAsync();
        var subscribed = await client.InvokeAsync<SubscribeResult>(HubMethods.Subscribe, "live", new SubscribeRequest()).DefaultTimeout();

        var first = await client.InvokeAsync<PublishResult>(HubMethods.Publish, "live", new PublishRequest { Message = "a" }).DefaultTimeout();
        var second = await client.InvokeAsync<PublishResult>(HubMethods.Publish, "live", new PublishRequest { Message = "b" }).DefaultTimeout();
        var page = await client.InvokeAsync<HistoryPageDto>(HubMethods.GetHistory, "live", 0L, 10).DefaultTimeout();
        var recovery = await client.InvokeAsync<SubscribeResult>(HubMethods.Subscribe, "live",
            new SubscribeRequest { Offset = 0, Epoch = subscribed.Epoch }).DefaultTimeout();

        Assert.Equal((1L, 2L), (first.Offset, second.Offset));
        Assert.Equal(("a", "b"), ((await envelopes.NextAsync()).Payload, (await envelopes.NextAsync()).Payload));
        Assert.Empty(page.Messages);
        Assert.False(recovery.Recovered);
        Assert.IsType<DisabledHistoryStore>(server.Get<IHistoryStore>());
    }
}
