using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.SignalR.Client;
using Switchboard.Contracts;
using Switchboard.Server.Tests.Infrastructure;
using Switchboard.Server.Tests.ScaleOut;
using Xunit.Abstractions;

namespace Switchboard.Server.Tests.Hostile;

/// <summary>
/// The slow consumer on the Redis backplane. There the stakes are higher: SignalR's Redis
/// lifetime manager delivers a group's messages from one subscription, in order, awaiting each
/// message's writes; a member that stops reading would hold up that group for every member on
/// its node, each stalled send until the transport gives up on it (10 s). The guard wraps whatever lifetime manager is in use, so the slow one is closed and
/// its neighbour on the same node gets everything.
/// </summary>
[Collection(ScaleOutCollection.Name)]
public sealed partial class SlowConsumerScaleOutTests(ITestOutputHelper output)
{
    [GeneratedRegex("switchboard_refusals_total\\{[^}]*code=\"slow\"[^}]*\\} ([0-9]+)")]
    private static partial Regex SlowClosed();

    private static async Task<int> SlowClosedAsync(string baseUrl)
    {
        using var http = new HttpClient { BaseAddress = new Uri(baseUrl), Timeout = TestTimeouts.Network };
        var match = SlowClosed().Match(await http.GetStringAsync("/metrics").DefaultTimeout());
        return match.Success ? int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
    }

    [Fact]
    public async Task ASlowMemberIsClosedAndItsNeighbourOnTheSameNodeGetsEverything()
    {
        await using var cluster = await Cluster.StartAsync(nodes: 2, settings: new()
        {
            ["Switchboard__Limits__MaxOutboundQueueBytes"] = "262144",
            ["Switchboard__MaxMessageLength"] = "60000",
            ["SignalR__MaximumReceiveMessageSize"] = "131072",
        });
        var room = "slow-" + Guid.NewGuid().ToString("N")[..6];
        var timeline = new Timeline();
        await using var neighbour = await cluster.ConnectAsync(0, HubRoutes.Chat, "nina");
        neighbour.Closed += e => { timeline.Add($"neighbour closed: {e?.Message}"); return Task.CompletedTask; };
        var atNeighbour = Events.On<string, string>(neighbour, ClientEvents.ReceiveMessage);
        var neighbourGot = new List<string>();
        await neighbour.InvokeAsync(HubMethods.JoinGroup, room).DefaultTimeout();
        await using var publisher = await cluster.ConnectAsync(1, HubRoutes.Chat, "pete");
        await using var slow = await RawWebSocket.ConnectAsync(cluster.Nodes[0].BaseUrl, HubRoutes.Chat, cluster.Token("sam"), receiveBufferSize: 4096);
        var sent = 0;
        try
        {
            Assert.Equal("{}", await slow.HandshakeAsync());
            await slow.SendTextAsync(RawWebSocket.Invocation("join", HubMethods.JoinGroup, [room]));
            Assert.NotNull(await slow.NextRecordAsync(r => r.GetProperty("type").GetInt32() == 3));

            // From node 1, through Redis, to the two members on node 0; the slow one reads nothing.
            var filler = new string('x', 50_000);
            timeline.Add("publishing");
            while (sent < 400 && (sent % 10 != 0 || await SlowClosedAsync(cluster.Nodes[0].BaseUrl) == 0))
            {
                await publisher.InvokeAsync(HubMethods.SendMessageToGroup, room, "pete", $"{sent:D4}{filler}").DefaultTimeout();
                sent++;
            }
            timeline.Add($"published {sent}");
            Assert.True(await SlowClosedAsync(cluster.Nodes[0].BaseUrl) > 0, $"not closed after {sent} messages");

            JsonElement? close = null;
            while (close is null && await slow.NextRecordTextAsync() is { } record)
            {
                var json = JsonDocument.Parse(record).RootElement;
                if (json.GetProperty("type").GetInt32() == 7) close = json;
            }
            timeline.Add($"slow member closed: {close}");
            Assert.StartsWith("slow: ", close?.GetProperty("error").GetString());
            for (var i = 0; i < sent; i++)
            {
                var got = (await atNeighbour.NextAsync()).Item2[..4];
                neighbourGot.Add(got);
                Assert.Equal($"{i:D4}", got);
            }
            timeline.Add($"neighbour got all {sent}");
            Assert.Equal(HubConnectionState.Connected, neighbour.State);
            output.WriteLine(timeline.Report(cluster, $"sent {sent}", only: " as slow"));
        }
        catch (Exception)
        {
            output.WriteLine(timeline.Report(cluster, $"sent {sent}; neighbour {neighbour.State}, got {neighbourGot.Count} " +
                $"(last: {string.Join(' ', neighbourGot.TakeLast(3))}); slow closings on node 0 (metric): " +
                $"{await SlowClosedAsync(cluster.Nodes[0].BaseUrl).ContinueWith(t => t.IsCompletedSuccessfully ? t.Result.ToString(CultureInfo.InvariantCulture) : "?", TaskScheduler.Default)}"));
            throw;
        }
    }
}
