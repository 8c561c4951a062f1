using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Switchboard.Contracts;
using Switchboard.Core.History;
using Switchboard.Server.Authentication;
using Switchboard.Server.Tests.Infrastructure;

namespace Switchboard.Client.Tests;

public sealed class SwitchboardClientTests(SwitchboardFactory server) : IClassFixture<SwitchboardFactory>
{
    private static string NewGroup() => "c-" + Guid.NewGuid().ToString("N")[..12];

    private SwitchboardClient Client(string baseUrl, string user, bool messagePack = false) => new(new SwitchboardClientOptions
    {
        Url = new Uri(baseUrl + HubRoutes.Chat),
        AccessTokenProvider = () => Task.FromResult<string?>(server.Token(user, user)),
        ReconnectDelays = [TimeSpan.Zero, TimeSpan.FromMilliseconds(100)],
        UseMessagePack = messagePack,
    });

    /// <summary>Collects delivered envelopes and completes when one with <paramref name="lastOffset"/> arrived.</summary>
    private static (List<GroupEnvelope> Received, Task Done) Collect(SwitchboardClient client, long lastOffset)
    {
        var received = new List<GroupEnvelope>();
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        client.MessageReceived += e =>
        {
            lock (received) received.Add(e);
            if (e.Offset >= lastOffset) done.TrySetResult();
        };
        return (received, done.Task);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AClientWhoseTcpConnectionIsCutMidStreamEndsWithEveryMessageOnceInOrder(bool messagePack)
    {
        var group = NewGroup();
        await using var proxy = new TcpProxy(new Uri(server.BaseUrl));
        await using var client = Client(proxy.BaseUrl, "reader", messagePack);
        var (received, done) = Collect(client, 1000);
        var reconnected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        client.Resubscribed += () => reconnected.TrySetResult();
        await client.StartAsync().DefaultTimeout();
        await client.SubscribeAsync(group).DefaultTimeout();
        await using var publisher = await server.ConnectAsync(HubRoutes.Chat, server.Token("writer"));

        for (var i = 1; i <= 1000; i++)
        {
            await publisher.SendAsync(HubMethods.Publish, group, new PublishRequest { Message = $"m{i}" }).DefaultTimeout();
            if (i == 300) proxy.CutAll();
        }
        await reconnected.Task.DefaultTimeout();
        await done.DefaultTimeout();

        Assert.True(proxy.Accepted >= 2, "the client reconnected through the proxy");
        Assert.Equal(Enumerable.Range(1, 1000).Select(i => (long)i), received.Select(e => e.Offset));
        Assert.Equal(Enumerable.Range(1, 1000).Select(i => $"m{i}"), received.Select(e => e.Payload));
    }

    [Fact]
    public async Task TwoSubscribesOfOneGroupAtOnceDeliverItsHistoryOnceInOrder()
    {
        var group = NewGroup();
        await using var client = Client(server.BaseUrl, "twice");
        var (received, done) = Collect(client, 6);
        await client.StartAsync().DefaultTimeout();
        for (var i = 1; i <= 5; i++) await client.PublishAsync(group, $"m{i}").DefaultTimeout();

        // The second call replaces the first's state before either answer arrives.
        var answers = await Task.WhenAll(client.SubscribeAsync(group, history: 5), client.SubscribeAsync(group, history: 5)).DefaultTimeout();
        Assert.All(answers, a => Assert.Equal(5, a.Messages.Count));
        await client.PublishAsync(group, "live").DefaultTimeout();
        await done.DefaultTimeout();

        lock (received) Assert.Equal([1L, 2, 3, 4, 5, 6], received.Select(e => e.Offset));
    }

    [Fact]
    public async Task MessagesPublishedWhileTheClientIsAwayArriveBeforeNewerOnes()
    {
        var group = NewGroup();
        await using var proxy = new TcpProxy(new Uri(server.BaseUrl));
        await using var client = Client(proxy.BaseUrl, "away");
        var (received, done) = Collect(client, 60);
        var reconnecting = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        client.Reconnecting += _ => reconnecting.TrySetResult();
        await client.StartAsync().DefaultTimeout();
        await client.SubscribeAsync(group).DefaultTimeout();
        await using var publisher = await server.ConnectAsync(HubRoutes.Chat, server.Token("writer"));
        for (var i = 1; i <= 10; i++)
            await publisher.InvokeAsync<PublishResult>(HubMethods.Publish, group, new PublishRequest { Message = $"m{i}" }).DefaultTimeout();

        proxy.Refusing = true;
        proxy.CutAll();
        await reconnecting.Task.DefaultTimeout();
        for (var i = 11; i <= 50; i++)
            await publisher.InvokeAsync<PublishResult>(HubMethods.Publish, group, new PublishRequest { Message = $"m{i}" }).DefaultTimeout();
        proxy.Refusing = false;
        for (var i = 51; i <= 60; i++)
            await publisher.InvokeAsync<PublishResult>(HubMethods.Publish, group, new PublishRequest { Message = $"m{i}" }).DefaultTimeout();
        await done.DefaultTimeout();

        Assert.Equal(Enumerable.Range(1, 60).Select(i => (long)i), received.Select(e => e.Offset));
    }

    [Fact]
    public async Task ASubscribeTheServerRefusedIsNotTriedAgainAfterAReconnect()
    {
        var group = NewGroup();
        await using var proxy = new TcpProxy(new Uri(server.BaseUrl));
        await using var client = Client(proxy.BaseUrl, "picky");
        var resubscribed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        client.Resubscribed += () => resubscribed.TrySetResult();
        var lost = new List<SubscriptionLoss>();
        client.SubscriptionLost += loss => { lock (lost) lost.Add(loss); };
        await client.StartAsync().DefaultTimeout();
        var refused = await Assert.ThrowsAsync<HubException>(() => client.SubscribeAsync("has space")).DefaultTimeout();
        Assert.Contains(ErrorCodes.GroupNameInvalid, refused.Message);
        await client.SubscribeAsync(group).DefaultTimeout();

        proxy.CutAll();
        await resubscribed.Task.DefaultTimeout();
        var next = new TaskCompletionSource<GroupEnvelope>(TaskCreationOptions.RunContinuationsAsynchronously);
        client.MessageReceived += e => next.TrySetResult(e);
        await using var publisher = await server.ConnectAsync(HubRoutes.Chat, server.Token("writer"));
        await publisher.InvokeAsync<PublishResult>(HubMethods.Publish, group, new PublishRequest { Message = "after" }).DefaultTimeout();

        Assert.Equal("after", (await next.Task.DefaultTimeout()).Payload);
        Assert.True(proxy.Accepted >= 2, "the client reconnected through the proxy");
        Assert.Empty(lost); // the refused name was never followed, so it is not lost either
        Assert.Null(client.PositionOf("has space"));
    }
}

public sealed class UnrecoverableGapTests(Switchboard.Server.Tests.ShortHistoryServer server) : IClassFixture<Switchboard.Server.Tests.ShortHistoryServer>
{
    [Fact]
    public async Task AGapTrimmedFromHistoryIsReportedAndTheClientContinuesFromNow()
    {
        var group = "gap-" + Guid.NewGuid().ToString("N")[..8];
        await using var proxy = new TcpProxy(new Uri(server.BaseUrl));
        await using var client = new SwitchboardClient(new SwitchboardClientOptions
        {
            Url = new Uri(proxy.BaseUrl + HubRoutes.Chat),
            AccessTokenProvider = () => Task.FromResult<string?>(server.Token("late")),
            ReconnectDelays = [TimeSpan.Zero, TimeSpan.FromMilliseconds(100)],
        });
        var failed = new TaskCompletionSource<RecoveryFailure>(TaskCreationOptions.RunContinuationsAsynchronously);
        client.RecoveryFailed += f => failed.TrySetResult(f);
        var after = new TaskCompletionSource<GroupEnvelope>(TaskCreationOptions.RunContinuationsAsynchronously);
        client.MessageReceived += e => after.TrySetResult(e);
        var reconnecting = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        client.Reconnecting += _ => reconnecting.TrySetResult();
        await client.StartAsync().DefaultTimeout();
        var first = await client.SubscribeAsync(group).DefaultTimeout();

        proxy.Refusing = true;
        proxy.CutAll();
        await reconnecting.Task.DefaultTimeout();
        await using var publisher = await server.ConnectAsync(HubRoutes.Chat, server.Token("writer"));
        for (var i = 1; i <= 30; i++)
            await publisher.InvokeAsync<PublishResult>(HubMethods.Publish, group, new PublishRequest { Message = $"m{i}" }).DefaultTimeout();
        await server.Get<IHistoryStore>().TrimAsync().AsTask().DefaultTimeout(); // keeps 21..30 only
        proxy.Refusing = false;
        var failure = await failed.Task.DefaultTimeout();
        await publisher.InvokeAsync<PublishResult>(HubMethods.Publish, group, new PublishRequest { Message = "m31" }).DefaultTimeout();

        Assert.Equal((group, 0L, first.Epoch, first.Epoch), (failure.Group, failure.LastOffset, failure.LastEpoch, failure.CurrentEpoch));
        Assert.Equal(31, (await after.Task.DefaultTimeout()).Offset); // nothing from the lost stretch
    }
}

/// <summary>Groups the server refuses after a reconnect: the client says so and goes on with the others.</summary>
public sealed class SubscriptionLostTests(Switchboard.Server.Tests.SmallQuotaServer server) : IClassFixture<Switchboard.Server.Tests.SmallQuotaServer>
{
    [Fact]
    public async Task AGroupRefusedAfterAReconnectIsReportedWithItsLastPositionAndTheOthersGoOn()
    {
        // A connection may be in 3 groups. The user follows two; meanwhile an operator adds them to
        // two user-level groups, which the server applies to every connection of theirs (counted,
        // never refused). After a reconnect those two are in before the client asks again, so the
        // first group it follows gets the last place and the second is refused.
        var user = "q-" + Guid.NewGuid().ToString("N")[..8];
        var (kept, refused) = ("k-" + user, "r-" + user);
        await using var proxy = new TcpProxy(new Uri(server.BaseUrl));
        await using var client = new SwitchboardClient(new SwitchboardClientOptions
        {
            Url = new Uri(proxy.BaseUrl + HubRoutes.Chat),
            AccessTokenProvider = () => Task.FromResult<string?>(server.Token(user)),
            ReconnectDelays = [TimeSpan.Zero, TimeSpan.FromMilliseconds(100)],
        });
        var lost = new TaskCompletionSource<SubscriptionLoss>(TaskCreationOptions.RunContinuationsAsynchronously);
        client.SubscriptionLost += loss => lost.TrySetResult(loss);
        var resubscribed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        client.Resubscribed += () => resubscribed.TrySetResult();
        var delivered = new TaskCompletionSource<GroupEnvelope>(TaskCreationOptions.RunContinuationsAsynchronously);
        var keptAfter = new TaskCompletionSource<GroupEnvelope>(TaskCreationOptions.RunContinuationsAsynchronously);
        client.MessageReceived += e =>
        {
            if (e.Payload == "m1") delivered.TrySetResult(e);
            if (e.Group == kept) keptAfter.TrySetResult(e);
        };
        await client.StartAsync().DefaultTimeout();
        await client.SubscribeAsync(kept).DefaultTimeout();
        var refusedAt = await client.SubscribeAsync(refused).DefaultTimeout();
        await using var publisher = await server.ConnectAsync(HubRoutes.Chat, server.Token("writer"));
        await publisher.InvokeAsync<PublishResult>(HubMethods.Publish, refused, new PublishRequest { Message = "m1" }).DefaultTimeout();
        await delivered.Task.DefaultTimeout();
        using var http = server.Http(server.Token("ops", roles: [Roles.Publisher]));
        for (var i = 0; i < 2; i++)
        {
            (await http.PostAsync($"/api/groups/u{i}-{user}/users/{user}", null).DefaultTimeout()).EnsureSuccessStatusCode();
        }

        proxy.CutAll();
        var loss = await lost.Task.DefaultTimeout();
        await resubscribed.Task.DefaultTimeout();

        Assert.Equal((refused, 1L, refusedAt.Epoch), (loss.Group, loss.LastOffset, loss.LastEpoch));
        Assert.Contains(ErrorCodes.TooManyGroups, Assert.IsType<HubException>(loss.Error).Message);
        Assert.Null(client.PositionOf(refused));
        await publisher.InvokeAsync<PublishResult>(HubMethods.Publish, kept, new PublishRequest { Message = "still here" }).DefaultTimeout();
        Assert.Equal("still here", (await keptAfter.Task.DefaultTimeout()).Payload);
    }
}
