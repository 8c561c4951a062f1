using Microsoft.AspNetCore.SignalR.Client;
using Switchboard.Contracts;
using Switchboard.Server.Tests.Infrastructure;

namespace Switchboard.Server.Tests.ScaleOut;

/// <summary>
/// <c>SignalR:MaximumParallelInvocationsPerClient</c> above 1 with history in Redis: a
/// connection's publishes, sent all at once and run side by side, are numbered, stored and
/// delivered on another process in the order the connection sent them (docs/protocol.md, Order:
/// promised with Redis while its connection is up). The embedded store's side, and that the
/// setting makes publishes run in parallel at all, is <see cref="ParallelInvocationsTests"/>.
/// </summary>
[Collection(ScaleOutCollection.Name)]
public sealed class ParallelPublishesOverRedisTests
{
    private const int Count = 200;

    [Fact]
    public async Task PublishesRunInParallelKeepTheirSendingOrderThroughRedis()
    {
        await using var cluster = await Cluster.StartAsync(nodes: 2, settings: new()
        {
            ["SignalR__MaximumParallelInvocationsPerClient"] = "8",
        });
        var group = "par-" + Guid.NewGuid().ToString("N")[..8];
        await using var subscriber = await cluster.ConnectAsync(1, HubRoutes.Chat, "sub");
        var log = Events.On<GroupEnvelope>(subscriber, ClientEvents.ReceiveGroupMessage);
        await subscriber.InvokeAsync<SubscribeResult>(HubMethods.Subscribe, group, new SubscribeRequest()).DefaultTimeout();
        await using var publisher = await cluster.ConnectAsync(0, HubRoutes.Chat, "pub");

        var sends = Enumerable.Range(1, Count)
            .Select(i => publisher.InvokeAsync<PublishResult>(HubMethods.Publish, group, new PublishRequest { Message = $"m{i}" }))
            .ToArray();
        var acks = await Task.WhenAll(sends).DefaultTimeout();

        Assert.Equal(Enumerable.Range(1, Count).Select(i => (long)i), acks.Select(a => a.Offset));
        // Publishes that overlap are handed to the fan-out together, as runs (one publish at a
        // time would make a run each): the sign that they did run side by side.
        using var http = cluster.Http(0);
        var metrics = PrometheusText.Parse(await http.GetStringAsync("/metrics").DefaultTimeout());
        var runs = metrics.GetValueOrDefault(PrometheusText.Series("switchboard_fanout_run_size_count"));
        Assert.True(runs is > 0 and < Count, $"{Count} publishes went out in {runs} runs: they did not run in parallel");
        var delivered = new List<string>();
        for (var i = 0; i < Count; i++)
        {
            delivered.Add((await log.NextAsync()).Payload);
        }
        Assert.Equal(Enumerable.Range(1, Count).Select(i => $"m{i}"), delivered);
        var page = await subscriber.InvokeAsync<HistoryPageDto>(HubMethods.GetHistory, group, 0L, Count).DefaultTimeout();
        Assert.Equal(Enumerable.Range(1, Count).Select(i => $"m{i}"), page.Messages.Select(m => m.Payload));
    }
}
