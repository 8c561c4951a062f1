using static Switchboard.Server.Tests.Infrastructure.PrometheusText;
using Microsoft.AspNetCore.SignalR.Client;
using Switchboard.Contracts;
using Switchboard.Server.Tests.Infrastructure;

namespace Switchboard.Server.Tests;

/// <summary>A server that lets each connection run 8 invocations at once.</summary>
public sealed class ParallelInvocationsServer() : SwitchboardFactoryWith(new() { ["SignalR:MaximumParallelInvocationsPerClient"] = "8" });

/// <summary>A server on the default: one invocation at a time per connection.</summary>
public sealed class SerialInvocationsServer() : SwitchboardFactoryWith([]);

/// <summary>
/// <c>SignalR:MaximumParallelInvocationsPerClient</c>: a durable publish waits for its commit, so
/// with one invocation at a time a connection's publishes are committed one per batch; with more,
/// they share batches, and still keep the order in which the connection sent them. The batches
/// are read from the store's <c>switchboard.history.batch.size</c> series, which OpenTelemetry
/// collects from every server in the process by meter name: so these run in the collection that
/// runs alone, and count the difference across their own publishes.
/// </summary>
[Collection(nameof(MetricsCollection))]
public sealed class ParallelInvocationsTests
{
    private const int Count = 200;

    [Fact]
    public async Task WithInvocationsInParallelAConnectionsPublishesShareCommitsAndKeepTheirOrder()
    {
        await using var server = new ParallelInvocationsServer();
        var (acks, batches, page) = await PublishAllAtOnceAsync(server);

        Assert.Equal(Enumerable.Range(1, Count).Select(i => (long)i), acks.Select(a => a.Offset));
        Assert.Equal(Enumerable.Range(1, Count).Select(i => $"m{i}"), page.Select(m => m.Payload));
        Assert.True(batches < Count, $"{Count} publishes took {batches} commits: they did not run in parallel");
    }

    [Fact]
    public async Task ByDefaultAConnectionsPublishesAreCommittedOneAtATime()
    {
        await using var server = new SerialInvocationsServer();
        var (acks, batches, _) = await PublishAllAtOnceAsync(server);

        Assert.Equal(Enumerable.Range(1, Count).Select(i => (long)i), acks.Select(a => a.Offset));
        Assert.Equal(Count, batches);
    }

    /// <summary>Sends every publish before awaiting any, and returns the acknowledgements in sending order, the commits they took, and the stored messages.</summary>
    private static async Task<(PublishResult[] Acks, double Batches, GroupEnvelope[] Page)> PublishAllAtOnceAsync(SwitchboardFactoryWith server)
    {
        var group = "p-" + Guid.NewGuid().ToString("N")[..12];
        await using var client = await server.ConnectAsync(HubRoutes.Chat, server.Token("pia", "Pia"));
        var before = await BatchesAsync(server);

        var sends = Enumerable.Range(1, Count)
            .Select(i => client.InvokeAsync<PublishResult>(HubMethods.Publish, group, new PublishRequest { Message = $"m{i}" }))
            .ToArray();
        var acks = await Task.WhenAll(sends).DefaultTimeout();

        var batches = await BatchesAsync(server) - before;
        var page = await client.InvokeAsync<HistoryPageDto>(HubMethods.GetHistory, group, 0L, Count).DefaultTimeout();
        return (acks, batches, page.Messages.ToArray());
    }

    private static async Task<double> BatchesAsync(SwitchboardFactoryWith server)
    {
        var metrics = Parse(await server.Http().GetStringAsync("/metrics").DefaultTimeout());
        return metrics.TryGetValue(Series("switchboard_history_batch_size_count"), out var count) ? count : 0;
    }
}
