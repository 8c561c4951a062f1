using Microsoft.AspNetCore.SignalR.Client;
using Switchboard.Contracts;
using Switchboard.Core.History;
using Switchboard.Server.Tests;
using Switchboard.Server.Tests.Infrastructure;

namespace Switchboard.Client.Tests;

/// <summary>What the client tests below share: a client, a record of what it raised, and a live gap.</summary>
internal static class GapScenario
{
    public static SwitchboardClient Client(string baseUrl, Func<Task<string?>> token, int pageSize = 500) => new(new SwitchboardClientOptions
    {
        Url = new Uri(baseUrl + HubRoutes.Chat),
        AccessTokenProvider = token,
        ReconnectDelays = [TimeSpan.Zero, TimeSpan.FromMilliseconds(100)],
        PageSize = pageSize,
    });

    /// <summary>
    /// Records, in the order the client raised them, each delivered offset and each recovery
    /// failure ("lost after {lastOffset}"); the task completes when <paramref name="lastOffset"/> was delivered.
    /// </summary>
    public static (List<string> Events, Task Done) Record(SwitchboardClient client, long lastOffset)
    {
        var events = new List<string>();
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        client.MessageReceived += e =>
        {
            lock (events) events.Add(e.Offset.ToString());
            if (e.Offset >= lastOffset) done.TrySetResult();
        };
        client.RecoveryFailed += f => { lock (events) events.Add($"lost after {f.LastOffset}"); };
        return (events, done.Task);
    }

    /// <summary>
    /// Makes the server stop delivering <paramref name="group"/> to the client's connection while
    /// <paramref name="meanwhile"/> runs, then deliver again, without the client knowing: its next
    /// live envelope is beyond the next offset, as when a message is lost on the way (a Redis
    /// pub/sub blip, or another process publishing in between).
    /// </summary>
    public static async Task MissLiveMessagesAsync(SwitchboardClient client, string group, Func<Task> meanwhile)
    {
        await client.Connection.InvokeAsync(HubMethods.Unsubscribe, group).DefaultTimeout();
        await meanwhile();
        await client.Connection.InvokeAsync<SubscribeResult>(HubMethods.Subscribe, group, new SubscribeRequest()).DefaultTimeout();
    }

    public static async Task PublishAsync(HubConnection publisher, string group, int from, int to)
    {
        for (var i = from; i <= to; i++)
        {
            await publisher.InvokeAsync<PublishResult>(HubMethods.Publish, group, new PublishRequest { Message = $"m{i}" }).DefaultTimeout();
        }
    }

    public static string[] Offsets(int from, int to) => Enumerable.Range(from, to - from + 1).Select(i => i.ToString()).ToArray();
}

/// <summary>
/// A server that serves at most 5 messages per history page, while the client asks for 500: its
/// recovery and gap filling page through what the server serves.
/// </summary>
public sealed class SmallHistoryPagesTests(FewPerPageServer server) : IClassFixture<FewPerPageServer>
{
    private static string NewGroup() => "pg-" + Guid.NewGuid().ToString("N")[..12];

    [Fact]
    public async Task ABacklogLargerThanTheServersPageIsRecoveredAfterAReconnect()
    {
        var group = NewGroup();
        await using var proxy = new TcpProxy(new Uri(server.BaseUrl));
        await using var client = GapScenario.Client(proxy.BaseUrl, () => Task.FromResult<string?>(server.Token("away")));
        var (events, done) = GapScenario.Record(client, 51);
        var lost = new List<SubscriptionLoss>();
        client.SubscriptionLost += loss => { lock (lost) lost.Add(loss); };
        var reconnecting = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        client.Reconnecting += _ => reconnecting.TrySetResult();
        var resubscribed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        client.Resubscribed += () => resubscribed.TrySetResult();
        await client.StartAsync().DefaultTimeout();
        await client.SubscribeAsync(group).DefaultTimeout();
        await using var publisher = await server.ConnectAsync(HubRoutes.Chat, server.Token("writer"));

        proxy.Refusing = true;
        proxy.CutAll();
        await reconnecting.Task.DefaultTimeout();
        await GapScenario.PublishAsync(publisher, group, 1, 50); // ten of the server's pages
        proxy.Refusing = false;
        await resubscribed.Task.DefaultTimeout();

        Assert.True(lost.Count == 0, "the group was lost: " + string.Join("; ", lost.Select(l => l.Error.Message)));
        await GapScenario.PublishAsync(publisher, group, 51, 51);
        await done.DefaultTimeout();
        Assert.Equal(GapScenario.Offsets(1, 51), events);
    }

    [Fact]
    public async Task ALiveGapLargerThanTheServersPageIsFilledInOrder()
    {
        var group = NewGroup();
        await using var client = GapScenario.Client(server.BaseUrl, () => Task.FromResult<string?>(server.Token("live")));
        var (events, done) = GapScenario.Record(client, 51);
        var first = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        client.MessageReceived += _ => first.TrySetResult();
        var filled = new TaskCompletionSource<(string, long, long)>(TaskCreationOptions.RunContinuationsAsynchronously);
        client.GapFilled += (g, from, to) => filled.TrySetResult((g, from, to));
        await client.StartAsync().DefaultTimeout();
        await client.SubscribeAsync(group).DefaultTimeout();
        await using var publisher = await server.ConnectAsync(HubRoutes.Chat, server.Token("writer"));
        await GapScenario.PublishAsync(publisher, group, 1, 1);
        await first.Task.DefaultTimeout();

        await GapScenario.MissLiveMessagesAsync(client, group, () => GapScenario.PublishAsync(publisher, group, 2, 50));
        await GapScenario.PublishAsync(publisher, group, 51, 51);

        await done.DefaultTimeout();
        Assert.Equal(GapScenario.Offsets(1, 51), events);
        Assert.Equal((group, 2L, 50L), await filled.Task.DefaultTimeout());
    }
}

/// <summary>A server that keeps 10 messages per group and trims only when a test asks (its background retention runs daily).</summary>
public sealed class TrimOnRequestServer() : SwitchboardFactoryWith(new()
{
    ["Switchboard:History:MaxMessagesPerGroup"] = "10",
    ["Switchboard:History:TrimInterval"] = "1.00:00:00",
});

public sealed class TrimmedLiveGapTests(TrimOnRequestServer server) : IClassFixture<TrimOnRequestServer>
{
    [Fact]
    public async Task ALiveGapWhoseStartWasTrimmedIsReportedAndWhatIsRetainedIsDeliveredInOrder()
    {
        var group = "tg-" + Guid.NewGuid().ToString("N")[..12];
        // Pages of 4, so the retained rest (22..31) takes three pages after the loss.
        await using var client = GapScenario.Client(server.BaseUrl, () => Task.FromResult<string?>(server.Token("reader")), pageSize: 4);
        var (events, done) = GapScenario.Record(client, 32);
        var failure = new TaskCompletionSource<RecoveryFailure>(TaskCreationOptions.RunContinuationsAsynchronously);
        client.RecoveryFailed += f => failure.TrySetResult(f);
        var first = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        client.MessageReceived += _ => first.TrySetResult();
        var filled = new TaskCompletionSource<(string, long, long)>(TaskCreationOptions.RunContinuationsAsynchronously);
        client.GapFilled += (g, from, to) => filled.TrySetResult((g, from, to));
        await client.StartAsync().DefaultTimeout();
        var subscribed = await client.SubscribeAsync(group).DefaultTimeout();
        await using var publisher = await server.ConnectAsync(HubRoutes.Chat, server.Token("writer"));
        await GapScenario.PublishAsync(publisher, group, 1, 1);
        await first.Task.DefaultTimeout();

        await GapScenario.MissLiveMessagesAsync(client, group, async () =>
        {
            await GapScenario.PublishAsync(publisher, group, 2, 31);
            await server.Get<IHistoryStore>().TrimAsync().AsTask().DefaultTimeout(); // keeps 22..31: 2..21 are gone
        });
        await GapScenario.PublishAsync(publisher, group, 32, 32);

        await done.DefaultTimeout();
        Assert.Equal(["1", "lost after 1", .. GapScenario.Offsets(22, 32)], events);
        var lost = await failure.Task.DefaultTimeout();
        Assert.Equal((group, 1L, subscribed.Epoch, subscribed.Epoch), (lost.Group, lost.LastOffset, lost.LastEpoch, lost.CurrentEpoch));
        Assert.Equal((group, 2L, 31L), await filled.Task.DefaultTimeout());
        Assert.Equal((32L, subscribed.Epoch), client.PositionOf(group));
    }
}
