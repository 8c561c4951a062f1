using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Switchboard.Contracts;
using Switchboard.Server.Tests.Infrastructure;

namespace Switchboard.Client.Tests;

/// <summary>
/// A server allowing each connection bursts of 4 invocations refilled at 10 per second (and the
/// default 20 refusals in a row before it closes one), serving at most 2 messages per history page:
/// a client following 6 groups that each missed 3 messages needs 12 invocations to resubscribe
/// (a <c>Subscribe</c> and a <c>GetHistory</c> each), three times the burst.
/// </summary>
public sealed class SmallBurstServer() : SwitchboardFactoryWith(new()
{
    ["Switchboard:Limits:InvocationsPerSecond"] = "10",
    ["Switchboard:Limits:InvocationBurst"] = "4",
    ["Switchboard:Recovery:MaxMessages"] = "2",
    ["Switchboard:Recovery:MaxHistory"] = "2",
    ["Switchboard:History:Durability"] = "ProcessCrash",
});

/// <summary>
/// A reconnect's resubscribe whose calls the server refuses with <c>rate_limited</c>: the client
/// tries them again after growing delays instead of giving the groups up.
/// </summary>
public sealed class ResubscribeRetryTests(SmallBurstServer server) : IClassFixture<SmallBurstServer>, IDisposable
{
    [Fact]
    public Task GroupsWhoseResubscribeWasRateLimitedAreRecoveredInOrderExactlyOnceWithoutLoss() =>
        // 6 groups that each missed 3: the Subscribe calls after the first few are refused.
        ResubscribeAfterCutAsync(groupCount: 6, missed: 3);

    [Fact]
    public Task AGroupWhosePagesAfterTheAnswerWereRateLimitedIsPagedOnFromWhereItStopped() =>
        // One group that missed 12: the Subscribe answer carries 2 and says there is more; the 5
        // pages after it exceed the burst, and the group's live message waits behind them.
        ResubscribeAfterCutAsync(groupCount: 1, missed: 12);

    /// <summary>
    /// A client following <paramref name="groupCount"/> groups through a proxy is cut off; each
    /// group gets 1..<paramref name="missed"/> meanwhile, and one more as soon as the client is back.
    /// Every group must end with all of them, once, in order, and none lost.
    /// </summary>
    private async Task ResubscribeAfterCutAsync(int groupCount, int missed)
    {
        var last = missed + 1;
        var expectedMissed = Enumerable.Range(1, missed).Select(i => (long)i).ToArray();
        var expected = Enumerable.Range(1, last).Select(i => (long)i).ToArray();
        var groups = Enumerable.Range(0, groupCount).Select(i => $"rr{i}-" + Guid.NewGuid().ToString("N")[..12]).ToArray();
        await using var proxy = new TcpProxy(new Uri(server.BaseUrl));
        await using var client = GapScenario.Client(proxy.BaseUrl, () => Task.FromResult<string?>(server.Token("many")));

        var received = groups.ToDictionary(g => g, _ => new List<long>());
        var allDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        client.MessageReceived += e =>
        {
            lock (received)
            {
                received[e.Group].Add(e.Offset);
                if (received.Values.All(r => r.Count > 0 && r[^1] >= last)) allDone.TrySetResult();
            }
        };
        var lost = new List<SubscriptionLoss>();
        client.SubscriptionLost += loss => { lock (lost) lost.Add(loss); };
        var reconnecting = 0;
        var firstReconnecting = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        client.Reconnecting += _ => { Interlocked.Increment(ref reconnecting); firstReconnecting.TrySetResult(); };
        var resubscribedCount = 0;
        var resubscribed = new TaskCompletionSource<Dictionary<string, long[]>>(TaskCreationOptions.RunContinuationsAsynchronously);
        client.Resubscribed += () =>
        {
            Interlocked.Increment(ref resubscribedCount);
            lock (received) resubscribed.TrySetResult(received.ToDictionary(p => p.Key, p => p.Value.ToArray()));
        };

        await client.StartAsync().DefaultTimeout();
        foreach (var group in groups)
        {
            await WhenAllowedAsync(() => client.SubscribeAsync(group));
        }
        var publishers = new List<HubConnection>();
        try
        {
            foreach (var _ in groups)
            {
                publishers.Add(await server.ConnectAsync(HubRoutes.Chat, server.Token("writer")));
            }

            // While the client is away, each group gets 1..missed; as soon as the client is back,
            // one more (live, while the resubscribe is still going on or after it).
            Task? live = null;
            client.Connection.Reconnected += _ =>
            {
                live = Task.WhenAll(groups.Select((g, i) => PublishAsync(publishers[i], g, last, last)));
                return Task.CompletedTask;
            };
            var refusalsBefore = _refusals.RateLimited;
            proxy.Refusing = true;
            proxy.CutAll();
            await firstReconnecting.Task.DefaultTimeout();
            await Task.WhenAll(groups.Select((g, i) => PublishAsync(publishers[i], g, 1, missed))).DefaultTimeout();
            proxy.Refusing = false;

            Dictionary<string, long[]> atResubscribed;
            try
            {
                atResubscribed = await resubscribed.Task.DefaultTimeout();
            }
            catch (TimeoutException)
            {
                throw new Xunit.Sdk.XunitException("Resubscribed was not raised; lost: " + Describe(lost));
            }
            Assert.True(lost.Count == 0, "groups were lost: " + Describe(lost));
            // Resubscribed comes once everything missed (which took pages after each answer) was delivered.
            Assert.All(groups, g => Assert.Equal(expectedMissed, atResubscribed[g].Take(missed)));
            Assert.True(_refusals.RateLimited > refusalsBefore, "the server refused none of the resubscribe's calls: the test proves nothing");

            await allDone.Task.DefaultTimeout();
            await live!.DefaultTimeout();
            lock (received)
            {
                Assert.All(groups, g => Assert.Equal(expected, received[g]));
            }
            Assert.Empty(lost);
            Assert.Equal(1, resubscribedCount);
            Assert.Equal(1, Volatile.Read(ref reconnecting)); // the retries did not get the connection closed
            Assert.All(groups, g => Assert.Equal(last, client.PositionOf(g)?.Offset));
        }
        finally
        {
            foreach (var publisher in publishers) await publisher.DisposeAsync();
        }
    }

    private static string Describe(List<SubscriptionLoss> lost)
    {
        lock (lost) return lost.Count + " [" + string.Join("; ", lost.Select(l => $"{l.Group}: {l.Error.Message}")) + "]";
    }

    /// <summary>Publishes offsets from..to, asking again every 20 ms while the publisher's own bucket is empty.</summary>
    private static async Task PublishAsync(HubConnection publisher, string group, int from, int to)
    {
        for (var i = from; i <= to; i++)
        {
            var ack = await WhenAllowedAsync(() => publisher.InvokeAsync<PublishResult>(HubMethods.Publish, group, new PublishRequest { Message = $"m{i}" }));
            Assert.Equal(i, ack.Offset);
        }
    }

    /// <summary>Runs <paramref name="call"/>, again every 20 ms while it is refused with <c>rate_limited</c> (bounded).</summary>
    private static async Task<T> WhenAllowedAsync<T>(Func<Task<T>> call)
    {
        var deadline = DateTime.UtcNow + TestTimeouts.Network;
        while (true)
        {
            try
            {
                return await call().DefaultTimeout();
            }
            catch (HubException e) when (e.Message.Contains(ErrorCodes.RateLimited + ": ") && DateTime.UtcNow < deadline)
            {
                await Task.Delay(20);
            }
        }
    }

    /// <summary>This server's <c>rate_limited</c> refusals since the test began.</summary>
    private readonly ScopedRefusals _refusals = new(server.Get<System.Diagnostics.Metrics.IMeterFactory>());

    public void Dispose() => _refusals.Dispose();
}
