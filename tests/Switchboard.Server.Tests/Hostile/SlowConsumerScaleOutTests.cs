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
        // When each message was acknowledged to the publisher and when it reached the neighbour, for a failure's report.
        var acked = new List<DateTime>();
        var arrived = new System.Collections.Concurrent.ConcurrentDictionary<int, DateTime>();
        neighbour.On<string, string>(ClientEvents.ReceiveMessage, (_, m) => arrived.TryAdd(int.Parse(m[..4], CultureInfo.InvariantCulture), DateTime.Now));
        await neighbour.InvokeAsync(HubMethods.JoinGroup, room).DefaultTimeout();
        await using var publisher = await cluster.ConnectAsync(1, HubRoutes.Chat, "pete");
        await using var slow = await RawWebSocket.ConnectAsync(cluster.Nodes[0].BaseUrl, HubRoutes.Chat, cluster.Token("sam"), receiveBufferSize: 4096);
        var sent = 0;
        async Task NeighbourReceivesNextAsync()
        {
            var got = (await atNeighbour.NextAsync()).Item2[..4];
            neighbourGot.Add(got);
            Assert.Equal($"{neighbourGot.Count - 1:D4}", got); // everything, in order
        }
        try
        {
            Assert.Equal("{}", await slow.HandshakeAsync());
            await slow.SendTextAsync(RawWebSocket.Invocation("join", HubMethods.JoinGroup, [room]));
            Assert.NotNull(await slow.NextRecordAsync(r => r.GetProperty("type").GetInt32() == 3));

            // From node 1, through Redis, to the two members on node 0; the slow one reads nothing.
            // The neighbour reads everything, but the guard counts what is queued for it at any
            // moment, and 50 KB messages leave it a margin of five: a stall of its reader or of
            // node 0 on a loaded machine (messages from Redis arriving as one burst) would close
            // it too. So the publisher stays at most Ahead messages ahead of it: at most
            // Ahead + 1 = 3 are ever queued for it (150 KB of the 256 KB), however slow the
            // machine, while the slow member's queue grows without bound. A slow member that
            // held up the group would stop the neighbour's next message, and this loop with it.
            const int Ahead = 2;
            var filler = new string('x', 50_000);
            timeline.Add("publishing");
            while (sent < 400 && (sent % 10 != 0 || await SlowClosedAsync(cluster.Nodes[0].BaseUrl) == 0))
            {
                while (neighbourGot.Count < sent - Ahead)
                {
                    await NeighbourReceivesNextAsync();
                }
                await publisher.InvokeAsync(HubMethods.SendMessageToGroup, room, "pete", $"{sent:D4}{filler}").DefaultTimeout();
                acked.Add(DateTime.Now);
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
            while (neighbourGot.Count < sent)
            {
                await NeighbourReceivesNextAsync();
            }
            timeline.Add($"neighbour got all {sent}");
            Assert.Equal(HubConnectionState.Connected, neighbour.State);
            output.WriteLine(timeline.Report(cluster, $"sent {sent}", only: " as slow"));
        }
        catch (Exception)
        {
            output.WriteLine(string.Join('\n', acked.Select((t, i) => $"{i:D4} acked {t:HH:mm:ss.fff}, at the neighbour " +
                (arrived.TryGetValue(i, out var at) ? at.ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture) : "never")).TakeLast(15)));
            output.WriteLine(timeline.Report(cluster, $"sent {sent}; neighbour {neighbour.State}, got {neighbourGot.Count} " +
                $"(last: {string.Join(' ', neighbourGot.TakeLast(3))}); slow closings on node 0 (metric): " +
                $"{await SlowClosedAsync(cluster.Nodes[0].BaseUrl).ContinueWith(t => t.IsCompletedSuccessfully ? t.Result.ToString(CultureInfo.InvariantCulture) : "?", TaskScheduler.Default)}"));
            throw;
        }
    }
}
