using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Switchboard.Contracts;
using Switchboard.Server.Tests.Infrastructure;

namespace Switchboard.Client.Tests;

/// <summary>
/// A server allowing each connection bursts of 10 invocations refilled at 1 per second, and 1000
/// refusals in a row before it closes one: a client's <c>GetHistory</c> can be refused with
/// <c>rate_limited</c> while the connection stays up and the server goes on delivering to it
/// (deliveries are not invocations).
/// </summary>
public sealed class SlowInvocationsServer() : SwitchboardFactoryWith(new()
{
    ["Switchboard:Limits:InvocationsPerSecond"] = "1",
    ["Switchboard:Limits:InvocationBurst"] = "10",
    ["Switchboard:Limits:ViolationsBeforeClose"] = "1000",
    ["Switchboard:History:Durability"] = "ProcessCrash", // publishes without an fsync each, so the timing below has room
});

/// <summary>
/// A live gap whose fetch from history fails while the client stays connected: what waits behind
/// it is delivered once the fetch succeeds, in order, without the group having to say more.
/// </summary>
public sealed class FailedGapFillTests(SlowInvocationsServer server) : IClassFixture<SlowInvocationsServer>, IDisposable
{
    private static string NewGroup() => "fg-" + Guid.NewGuid().ToString("N")[..12];

    [Fact]
    public async Task AGapWhoseFetchWasRateLimitedIsFetchedAgainAndDeliveredInOrderThoughTheGroupGoesQuiet()
    {
        var group = NewGroup();
        var (client, publisher, events, done, lost, filled) = await GapRevealedAsync(group, lastOffset: 4);
        await using var _ = client;
        await using var __ = publisher;

        // 4 reveals the gap 2..3 and the client's GetHistory is refused. Nothing more is published:
        // only the client fetching again can deliver 2, 3 and 4, once the server allows it (in about a second).
        await RevealGapWhileRefusedAsync(client, publisher, group);

        await DeliveredAsync(done, events, "4");
        Assert.Equal(GapScenario.Offsets(1, 4), events);
        Assert.Equal((group, 2L, 3L), await filled.Task.DefaultTimeout());
        Assert.Empty(lost);
        Assert.Equal(4L, client.PositionOf(group)?.Offset);

        // Nothing twice afterwards: the next message follows on.
        var fifth = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        client.MessageReceived += e => { if (e.Offset == 5) fifth.TrySetResult(); };
        await GapScenario.PublishAsync(publisher, group, 5, 5);
        await fifth.Task.DefaultTimeout();
        Assert.Equal(GapScenario.Offsets(1, 5), events);
    }

    [Fact]
    public async Task MessagesArrivingWhileAGapIsFetchedAgainWaitBehindItAndNoneIsDeliveredTwice()
    {
        var group = NewGroup();
        var (client, publisher, events, done, lost, filled) = await GapRevealedAsync(group, lastOffset: 6);
        await using var _ = client;
        await using var __ = publisher;

        await RevealGapWhileRefusedAsync(client, publisher, group);
        // 5 and 6 arrive live while 2..3 is still to be fetched (the server allows the client's
        // next invocation about a second after it emptied the bucket); then the group is quiet.
        await GapScenario.PublishAsync(publisher, group, 5, 6);

        await DeliveredAsync(done, events, "6");
        Assert.Equal(GapScenario.Offsets(1, 6), events);
        Assert.Equal((group, 2L, 3L), await filled.Task.DefaultTimeout());
        Assert.Empty(lost);
    }

    [Fact]
    public async Task AGapWhoseFetchIsRefusedForGoodLosesTheGroupWithItsLastPosition()
    {
        // A client configured with pages of 0 asks GetHistory for limit 0, which the server
        // refuses with position_invalid however often it is asked: the client reports the group
        // lost instead of trying again forever, or dropping the envelope without a word.
        var group = NewGroup();
        await using var client = GapScenario.Client(server.BaseUrl, () => Task.FromResult<string?>(server.Token("zero")), pageSize: 0);
        var (events, _) = GapScenario.Record(client, 3);
        var lost = new TaskCompletionSource<SubscriptionLoss>(TaskCreationOptions.RunContinuationsAsynchronously);
        client.SubscriptionLost += loss => lost.TrySetResult(loss);
        var first = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        client.MessageReceived += _ => first.TrySetResult();
        await client.StartAsync().DefaultTimeout();
        var subscribed = await client.SubscribeAsync(group).DefaultTimeout();
        await using var publisher = await server.ConnectAsync(HubRoutes.Chat, server.Token("writer"));
        await GapScenario.PublishAsync(publisher, group, 1, 1);
        await first.Task.DefaultTimeout();

        await GapScenario.MissLiveMessagesAsync(client, group, () => GapScenario.PublishAsync(publisher, group, 2, 2));
        await GapScenario.PublishAsync(publisher, group, 3, 3);

        await DeliveredAsync(lost.Task, events, "SubscriptionLost");
        var loss = await lost.Task;
        Assert.Equal((group, 1L, subscribed.Epoch), (loss.Group, loss.LastOffset, loss.LastEpoch));
        Assert.Contains(ErrorCodes.PositionInvalid + ": after must not be negative and limit must be at least 1.",
            Assert.IsType<HubException>(loss.Error).Message);
        Assert.Null(client.PositionOf(group));
        Assert.Equal(["1"], events);
    }

    [Fact]
    public async Task AGroupWithMoreThanMaxWaitingMessagesBehindAGapThatCannotBeFetchedIsGivenUpAndTheOthersGoOn()
    {
        // MaxWaiting 5: 4 reveals the gap 2..3 and its fetch is refused (rate_limited); 5..11 arrive
        // live meanwhile, so more than 5 wait (the refused fetch is not tried again within the
        // test). The client gives the group up at the sixth.
        var group = NewGroup();
        var other = NewGroup();
        await using var client = new SwitchboardClient(new SwitchboardClientOptions
        {
            Url = new Uri(server.BaseUrl + HubRoutes.Chat),
            AccessTokenProvider = () => Task.FromResult<string?>(server.Token("capped")),
            ReconnectDelays = [TimeSpan.Zero, TimeSpan.FromMilliseconds(100)],
            MaxWaiting = 5,
            // The refused fetch is not tried again within the test: the burst below waits behind the
            // gap however slowly the machine publishes it.
            GapFillRetryDelays = [TimeSpan.FromMinutes(10)],
        });
        var events = new List<string>();
        var otherEvents = new List<long>();
        var first = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var otherFirst = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var lost = new TaskCompletionSource<SubscriptionLoss>(TaskCreationOptions.RunContinuationsAsynchronously);
        var losses = new List<SubscriptionLoss>();
        client.MessageReceived += e =>
        {
            if (e.Group == other)
            {
                lock (otherEvents) otherEvents.Add(e.Offset);
                otherFirst.TrySetResult();
                return;
            }
            lock (events) events.Add(e.Offset.ToString());
            first.TrySetResult();
            // Without the bound nothing is given up (the retry is 10 minutes away): the wait for
            // SubscriptionLost below times out. Nothing after 1 may be delivered either way.
            if (e.Offset > 1) lost.TrySetException(new InvalidOperationException($"delivered {e.Offset} instead of giving the group up"));
        };
        client.SubscriptionLost += loss => { lock (losses) losses.Add(loss); lost.TrySetResult(loss); };
        await client.StartAsync().DefaultTimeout();
        var subscribed = await client.SubscribeAsync(group).DefaultTimeout();
        await client.SubscribeAsync(other).DefaultTimeout();
        await using var publisher = await server.ConnectAsync(HubRoutes.Chat, server.Token("writer"));
        await using var publisher2 = await server.ConnectAsync(HubRoutes.Chat, server.Token("writer2")); // a bucket of its own for the burst below
        await GapScenario.PublishAsync(publisher, group, 1, 1);
        await first.Task.DefaultTimeout();
        await GapScenario.MissLiveMessagesAsync(client, group, () => GapScenario.PublishAsync(publisher, group, 2, 3));

        await RevealGapWhileRefusedAsync(client, publisher, group);
        await GapScenario.PublishAsync(publisher2, group, 5, 11);

        await DeliveredAsync(lost.Task, events, "SubscriptionLost");
        var loss = await lost.Task;
        Assert.Equal((group, 1L, subscribed.Epoch), (loss.Group, loss.LastOffset, loss.LastEpoch));
        Assert.Matches(
            @"^More than 5 messages of group '[^']+' waited behind a gap that could not be fetched .*the group was given up\. Subscribe again to follow it\.$",
            Assert.IsType<InvalidOperationException>(loss.Error).Message);
        Assert.Null(client.PositionOf(group));

        // Not followed any more: nothing more of it is delivered; the other group goes on.
        await GapScenario.PublishAsync(publisher2, group, 12, 12);
        await GapScenario.PublishAsync(publisher2, other, 1, 1);
        await otherFirst.Task.DefaultTimeout();
        lock (otherEvents) Assert.Equal([1L], otherEvents);
        lock (events) Assert.Equal(["1"], events);
        lock (losses) Assert.Single(losses);
    }

    [Fact]
    public void MaxWaitingMustBeAtLeastOne() =>
        Assert.Throws<ArgumentException>(() => new SwitchboardClient(new SwitchboardClientOptions
        {
            Url = new Uri("http://127.0.0.1:1" + HubRoutes.Chat),
            MaxWaiting = 0,
        }));

    /// <summary>Waits (bounded) for <paramref name="done"/>, failing with what was delivered meanwhile.</summary>
    private static async Task DeliveredAsync(Task done, List<string> events, string what)
    {
        try
        {
            await done.DefaultTimeout();
        }
        catch (TimeoutException)
        {
            lock (events) Assert.Fail($"Timed out waiting for {what}; delivered so far: [{string.Join(", ", events)}]");
        }
    }

    /// <summary>
    /// A client subscribed to <paramref name="group"/> that has 1 and missed 2..3 without knowing
    /// (published while the server was not delivering the group to it), and a publisher.
    /// </summary>
    private async Task<(SwitchboardClient Client, HubConnection Publisher, List<string> Events, Task Done, List<SubscriptionLoss> Lost,
        TaskCompletionSource<(string, long, long)> Filled)> GapRevealedAsync(string group, long lastOffset)
    {
        var client = GapScenario.Client(server.BaseUrl, () => Task.FromResult<string?>(server.Token("limited")));
        var (events, done) = GapScenario.Record(client, lastOffset);
        var lost = new List<SubscriptionLoss>();
        client.SubscriptionLost += loss => { lock (lost) lost.Add(loss); };
        var filled = new TaskCompletionSource<(string, long, long)>(TaskCreationOptions.RunContinuationsAsynchronously);
        client.GapFilled += (g, from, to) => filled.TrySetResult((g, from, to));
        var first = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        client.MessageReceived += _ => first.TrySetResult();
        await client.StartAsync().DefaultTimeout();
        await client.SubscribeAsync(group).DefaultTimeout();
        var publisher = await server.ConnectAsync(HubRoutes.Chat, server.Token("writer"));
        await GapScenario.PublishAsync(publisher, group, 1, 1);
        await first.Task.DefaultTimeout();
        await GapScenario.MissLiveMessagesAsync(client, group, () => GapScenario.PublishAsync(publisher, group, 2, 3));
        return (client, publisher, events, done, lost, filled);
    }

    /// <summary>
    /// Empties the client connection's invocation bucket, publishes 4 (delivered live, beyond the
    /// next offset 2), and waits until the server has refused the client's GetHistory for the gap
    /// (counted from this server's own meter, <see cref="ScopedRefusals"/>).
    /// </summary>
    private async Task RevealGapWhileRefusedAsync(SwitchboardClient client, HubConnection publisher, string group)
    {
        await EmptyBucketAsync(client.Connection, group);
        var before = _refusals.RateLimited;
        await GapScenario.PublishAsync(publisher, group, 4, 4);
        var deadline = DateTime.UtcNow + TestTimeouts.Network;
        while (_refusals.RateLimited <= before)
        {
            Assert.True(DateTime.UtcNow < deadline, "the server never refused the client's GetHistory for the gap");
            await Task.Delay(20);
        }
    }

    /// <summary>
    /// Spends the connection's invocations until the server refuses one with <c>rate_limited</c>,
    /// then takes the next one the bucket refills as soon as it comes (asking every 20 ms): the
    /// bucket is then empty, and its next token about a second away, far longer than a publish and
    /// its delivery take.
    /// </summary>
    private static async Task EmptyBucketAsync(HubConnection connection, string group)
    {
        var deadline = DateTime.UtcNow + TestTimeouts.Network;
        var refused = false;
        while (true)
        {
            Assert.True(DateTime.UtcNow < deadline, "the server never refused or never allowed again");
            try
            {
                await connection.InvokeAsync<HistoryPageDto>(HubMethods.GetHistory, group, 0L, 1).DefaultTimeout();
                if (refused)
                {
                    return;
                }
            }
            catch (HubException e) when (e.Message.Contains(ErrorCodes.RateLimited + ": "))
            {
                refused = true;
                await Task.Delay(20);
            }
        }
    }

    /// <summary>This server's <c>rate_limited</c> refusals since the test began.</summary>
    private readonly ScopedRefusals _refusals = new(server.Get<System.Diagnostics.Metrics.IMeterFactory>());

    public void Dispose() => _refusals.Dispose();
}
