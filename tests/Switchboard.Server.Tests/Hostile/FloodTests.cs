using System.Text;
using Switchboard.Contracts;
using Switchboard.Core.Connections;
using Switchboard.Server.Hubs;
using Switchboard.Server.Tests.Infrastructure;

namespace Switchboard.Server.Tests.Hostile;

/// <summary>Floods, each bounded in count: invocations pipelined faster than any client waits for answers, and connection churn.</summary>
public sealed class FloodTests(FloodServer server) : IClassFixture<FloodServer>
{
    [Fact]
    public async Task TwoThousandPipelinedInvocationsAreRefusedThenTheConnectionIsClosed()
    {
        await using var control = await server.ControlAsync();
        await using var raw = await server.RawAsync(user: "flooder");
        Assert.Equal("{}", await raw.HandshakeAsync());

        // One write, 2,000 invocations: the burst of 100 is served, then rate_limited, then closed.
        var flood = new StringBuilder();
        for (var i = 0; i < 2_000; i++) flood.Append(RawWebSocket.Invocation($"{i}", HubMethods.JoinGroup, ["flood"]));
        await raw.SendTextAsync(flood.ToString());

        var ok = 0;
        var refused = 0;
        string? closeError = null;
        while (await raw.NextRecordTextAsync() is { } record)
        {
            var json = System.Text.Json.JsonDocument.Parse(record).RootElement;
            var type = json.GetProperty("type").GetInt32();
            if (type == 3 && json.TryGetProperty("error", out var error))
            {
                Assert.Contains("rate_limited: More than 1 invocations per second (bursts of 100); slow down.", error.GetString());
                refused++;
            }
            else if (type == 3) ok++;
            else if (type == 7) { closeError = json.GetProperty("error").GetString(); break; }
        }

        Assert.Equal("rate_limited: Too many invocations; the connection was closed.", closeError);
        Assert.InRange(ok, 100, 150); // the burst, plus what refilled while the server worked through them
        Assert.InRange(refused, 19, 2_000 - ok); // 20 in a row close it; the close may overtake the 20th answer
        Assert.True(await raw.EndsAsync());
        await control.AssertHealthyAsync();
    }

    [Fact]
    public async Task ConnectionChurnLeavesNothingBehind()
    {
        await using var control = await server.ControlAsync();
        var registry = server.Get<ConnectionRegistry>();
        var tracker = server.Get<IConnectionTracker>();
        var before = registry.Count;

        // 5 rounds of 40 full SignalR connections (negotiate, upgrade, handshake, a group) that vanish without a goodbye.
        for (var round = 0; round < 5; round++)
        {
            var raws = await Task.WhenAll(Enumerable.Range(0, 40).Select(async i =>
            {
                var raw = await server.RawAsync(user: $"churn-{i}");
                Assert.Equal("{}", await raw.HandshakeAsync());
                await raw.SendTextAsync(RawWebSocket.Invocation("j", HubMethods.JoinGroup, [$"churn-{round}"]));
                return raw;
            }));
            foreach (var raw in raws) await raw.DisposeAsync();
        }

        await TestTimeouts.Eventually(() => registry.Count == before, "every churned connection is gone");
        await TestTimeouts.Eventually(() => Enumerable.Range(0, 40).All(i => tracker.GetUserConnections($"churn-{i}").Count == 0),
            "no churned user is still tracked");
        await control.AssertHealthyAsync();
    }
}
