using Microsoft.AspNetCore.SignalR.Client;
using Switchboard.Contracts;
using Switchboard.Core.History;
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
