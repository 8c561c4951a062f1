using static Switchboard.Server.Tests.Infrastructure.PrometheusText;
using System.Globalization;
using System.Net.Http.Json;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Switchboard.Contracts;
using Switchboard.Server.Tests.Infrastructure;

namespace Switchboard.Server.Tests;

/// <summary>A server of its own, so the counters start at zero.</summary>
public sealed class MetricsServer() : SwitchboardFactoryWith([]);

/// <summary>
/// OpenTelemetry listens to meters by name, so every server in this test process would count
/// into every other's "Switchboard" series. This collection runs alone, after the others.
/// </summary>
[CollectionDefinition(nameof(MetricsCollection), DisableParallelization = true)]
public sealed class MetricsCollection;

[Collection(nameof(MetricsCollection))]
public sealed class MetricsTests(MetricsServer server) : IClassFixture<MetricsServer>
{
    [Fact]
    public async Task TheMetricsEndpointCountsAScriptedScenarioExactly()
    {
        await using var chat = await server.ConnectAsync(HubRoutes.Chat, server.Token("mo", "Mo"));
        await using var secure = await server.ConnectAsync(HubRoutes.SecureChat, server.Token("mo", "Mo"));
        await using var robust = await server.ConnectAsync(HubRoutes.Robust, server.Token("mo", "Mo"));
        using var http = server.Http(server.Token("ops", roles: ["Admin"]));

        // Two group messages, one repeat, one private message.
        var first = await chat.InvokeAsync<PublishResult>(HubMethods.Publish, "metered", new PublishRequest { Id = "m1", Message = "a" }).DefaultTimeout();
        await chat.InvokeAsync<PublishResult>(HubMethods.Publish, "metered", new PublishRequest { Id = "m1", Message = "a" }).DefaultTimeout();
        await chat.InvokeAsync<PublishResult>(HubMethods.Publish, "metered", new PublishRequest { Message = "b" }).DefaultTimeout();
        await secure.InvokeAsync(HubMethods.SendPrivateMessage, "someone", "psst").DefaultTimeout();
        // Three subscriptions: first, recovered, not recovered.
        await chat.InvokeAsync<SubscribeResult>(HubMethods.Subscribe, "metered", new SubscribeRequest()).DefaultTimeout();
        await chat.InvokeAsync<SubscribeResult>(HubMethods.Subscribe, "metered", new SubscribeRequest { Offset = 0, Epoch = first.Epoch }).DefaultTimeout();
        await chat.InvokeAsync<SubscribeResult>(HubMethods.Subscribe, "metered", new SubscribeRequest { Offset = 0, Epoch = "other" }).DefaultTimeout();
        // Refusals from a hub, from RobustHub's results and from the HTTP API.
        await Assert.ThrowsAsync<HubException>(() => chat.InvokeAsync(HubMethods.JoinGroup, "bad name").DefaultTimeout());
        await robust.InvokeAsync<Result>(HubMethods.SendMessage, new MessageRequest { Message = " " }).DefaultTimeout();
        await http.PostAsJsonAsync("/api/groups/user:x/messages", new PublishRequest { Message = "x" }).DefaultTimeout();

        var metrics = Parse(await server.Http().GetStringAsync("/metrics").DefaultTimeout());

        Assert.Equal(2, metrics[Series("switchboard_messages_published_total", "kind", "group")]);
        Assert.Equal(1, metrics[Series("switchboard_messages_published_total", "kind", "private")]);
        Assert.Equal(1, metrics[Series("switchboard_messages_duplicates_total")]);
        Assert.Equal(3, metrics[Series("switchboard_history_append_duration_seconds_count")]);
        // Published one after another, so each stored message went out as a run of one.
        Assert.Equal(3, metrics[Series("switchboard_fanout_run_size_count")]);
        Assert.Equal(3, metrics[Series("switchboard_fanout_run_size_sum")]);
        // Four appends reached the store (the repeat too: the store finds it), one commit each.
        Assert.Equal(4, metrics[Series("switchboard_history_batch_size_count")]);
        Assert.Equal(4, metrics[Series("switchboard_history_batch_size_sum")]);
        Assert.Equal(1, metrics[Series("switchboard_subscriptions_total", "outcome", "first")]);
        Assert.Equal(1, metrics[Series("switchboard_subscriptions_total", "outcome", "recovered")]);
        Assert.Equal(1, metrics[Series("switchboard_subscriptions_total", "outcome", "not_recovered")]);
        Assert.Equal(1, metrics[Series("switchboard_refusals_total", "code", ErrorCodes.GroupNameInvalid)]);
        Assert.Equal(1, metrics[Series("switchboard_refusals_total", "code", ErrorCodes.MessageEmpty)]);
        Assert.Equal(1, metrics[Series("switchboard_refusals_total", "code", ErrorCodes.GroupNameReserved)]);
        Assert.Equal(3, metrics[Series("switchboard_connections")]);
        // ASP.NET Core's own meters are exported too.
        Assert.Contains(metrics.Keys, k => k.StartsWith("kestrel_active_connections", StringComparison.Ordinal));
        Assert.Contains(metrics.Keys, k => k.StartsWith("signalr_server_active_connections", StringComparison.Ordinal));
        Assert.Contains(metrics.Keys, k => k.StartsWith("dotnet_gc_heap_total_allocated_bytes", StringComparison.Ordinal));
    }
}
