using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.SignalR.Client;
using Switchboard.Contracts;
using Switchboard.Server.Hubs;
using Switchboard.Server.Tests.Infrastructure;

namespace Switchboard.Server.Tests.Hostile;

/// <summary>A 256 KB outbound bound and room for 50 KB messages.</summary>
public sealed class SlowConsumerServer() : SwitchboardFactoryWith(new()
{
    ["Switchboard:Limits:MaxOutboundQueueBytes"] = "262144",
    ["Switchboard:MaxMessageLength"] = "60000",
    ["SignalR:MaximumReceiveMessageSize"] = "131072",
    ["Switchboard:History:Durability"] = "ProcessCrash",
});

public sealed class SlowConsumerTests(SlowConsumerServer server) : IClassFixture<SlowConsumerServer>
{
    private const string Room = "slow-room";

    [Fact]
    public async Task AClientThatStopsReadingIsClosedAsSlowWhileItsGroupGetsEverything()
    {
        await using var control = await server.ConnectAsync(HubRoutes.Chat, server.Token("carol"));
        var atControl = Events.On<string, string>(control, ClientEvents.ReceiveMessage);
        await control.InvokeAsync(HubMethods.JoinGroup, Room).DefaultTimeout();
        await using var publisher = await server.ConnectAsync(HubRoutes.Chat, server.Token("pat"));
        // A small receive window, so the server's buffers fill after a few megabytes.
        await using var slow = await RawWebSocket.ConnectAsync(server.BaseUrl, HubRoutes.Chat, server.Token("sid"), receiveBufferSize: 4096);
        Assert.Equal("{}", await slow.HandshakeAsync());
        await slow.SendTextAsync($"{{\"type\":1,\"invocationId\":\"join\",\"target\":\"JoinGroup\",\"arguments\":[\"{Room}\"]}}{RawWebSocket.RecordSeparator}");
        var joined = await slow.NextRecordAsync(r => r.GetProperty("type").GetInt32() == 3);
        Assert.False(joined!.Value.TryGetProperty("error", out _));
        var guard = server.Get<SlowConsumerGuard>();
        var closedBefore = guard.ClosedCount;

        // The slow client reads nothing from here on. A bounded burst of 50 KB messages, until it is closed.
        var filler = new string('x', 50_000);
        var sent = 0;
        while (sent < 400 && guard.ClosedCount == closedBefore)
        {
            await publisher.InvokeAsync(HubMethods.SendMessageToGroup, Room, "pat", $"{sent:D4}{filler}").DefaultTimeout();
            sent++;
        }
        Assert.True(guard.ClosedCount > closedBefore, $"not closed after {sent} messages");

        // It catches up now: what was queued for it, in order, then the close message.
        var atSlow = new List<int>();
        JsonElement? close = null;
        while (close is null && await slow.NextRecordTextAsync() is { } record)
        {
            var json = JsonDocument.Parse(record).RootElement;
            var type = json.GetProperty("type").GetInt32();
            if (type == 7) close = json;
            else if (type == 1 && json.GetProperty("target").GetString() == ClientEvents.ReceiveMessage)
                atSlow.Add(int.Parse(json.GetProperty("arguments")[1].GetString()![..4], CultureInfo.InvariantCulture));
        }
        Assert.NotNull(close);
        Assert.StartsWith("slow: The connection did not read its messages fast enough (more than 262144 bytes waiting)",
            close.Value.GetProperty("error").GetString());
        Assert.True(close.Value.GetProperty("allowReconnect").GetBoolean());
        Assert.Equal(Enumerable.Range(0, atSlow.Count), atSlow); // a prefix: nothing reordered, the rest is in history
        Assert.True(atSlow.Count < sent);
        Assert.True(await slow.EndsAsync());
        await TestTimeouts.Eventually(() => !server.Get<ConnectionRegistry>().Contains(slow.ConnectionId!), "the slow connection is gone");

        // The healthy member got every message, in order, on the same connection.
        for (var i = 0; i < sent; i++)
        {
            var (_, message) = await atControl.NextAsync();
            Assert.Equal($"{i:D4}", message[..4]);
        }
        Assert.Equal(HubConnectionState.Connected, control.State);
        var metrics = await server.Http().GetStringAsync("/metrics").DefaultTimeout();
        Assert.Contains("switchboard_refusals_total{", metrics);
        Assert.Matches("switchboard_refusals_total\\{[^}]*code=\"slow\"[^}]*\\} [1-9]", metrics);
    }

    [Fact]
    public async Task AClientThatReadsKeepsItsConnection()
    {
        await using var reader = await server.ConnectAsync(HubRoutes.Chat, server.Token("rita"));
        var atReader = Events.On<string, string>(reader, ClientEvents.ReceiveMessage);
        await reader.InvokeAsync(HubMethods.JoinGroup, "reading-room").DefaultTimeout();
        await using var publisher = await server.ConnectAsync(HubRoutes.Chat, server.Token("pam"));
        var guard = server.Get<SlowConsumerGuard>();
        var closedBefore = guard.ClosedCount;

        // 10 MB in all, many times the bound, to a client that keeps up.
        var filler = new string('y', 50_000);
        for (var i = 0; i < 200; i++)
        {
            await publisher.InvokeAsync(HubMethods.SendMessageToGroup, "reading-room", "pam", $"{i:D4}{filler}").DefaultTimeout();
            var (_, message) = await atReader.NextAsync();
            Assert.Equal($"{i:D4}", message[..4]);
        }

        Assert.Equal(closedBefore, guard.ClosedCount);
        Assert.Equal(HubConnectionState.Connected, reader.State);
    }
}
