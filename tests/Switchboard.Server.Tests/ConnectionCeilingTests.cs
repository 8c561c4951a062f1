using Microsoft.AspNetCore.SignalR.Client;
using Switchboard.Contracts;
using Switchboard.Server.Hosting;
using Switchboard.Server.Tests.Infrastructure;

namespace Switchboard.Server.Tests;

public sealed class ThreeConnectionServer() : SwitchboardFactoryWith(new() { ["Switchboard:Limits:MaxConnections"] = "3" });

/// <summary>The server refuses connections past its ceiling instead of running out of file descriptors.</summary>
public sealed class ConnectionCeilingTests(ThreeConnectionServer server) : IClassFixture<ThreeConnectionServer>
{
    [Fact]
    public async Task AConnectionPastTheCeilingIsRefusedAndTheOpenOnesAreUnharmed()
    {
        var open = new List<HubConnection>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                var connection = server.Hub(HubRoutes.Chat, server.Token($"u{i}"), skipNegotiation: true);
                await connection.StartedAsync();
                open.Add(connection);
            }
            var extra = server.Hub(HubRoutes.Chat, server.Token("extra"), skipNegotiation: true);
            var refused = await Assert.ThrowsAnyAsync<Exception>(() => extra.StartAsync().DefaultTimeout());
            Assert.Contains("503", refused.Message);
            await extra.DisposeAsync();

            // What the refusal says, seen by a bare WebSocket upgrade: 503, the code, Retry-After.
            using (var http = new HttpClient { Timeout = TestTimeouts.Network })
            {
                using var upgrade = new HttpRequestMessage(HttpMethod.Get, server.BaseUrl + HubRoutes.Chat);
                upgrade.Headers.Authorization = new("Bearer", server.Token("extra"));
                upgrade.Headers.Connection.Add("Upgrade");
                upgrade.Headers.Upgrade.Add(new("websocket"));
                upgrade.Headers.Add("Sec-WebSocket-Version", "13");
                upgrade.Headers.Add("Sec-WebSocket-Key", Convert.ToBase64String(new byte[16]));
                using var answer = await http.SendAsync(upgrade).DefaultTimeout();
                Assert.Equal(System.Net.HttpStatusCode.ServiceUnavailable, answer.StatusCode);
                Assert.NotNull(answer.Headers.RetryAfter);
                Assert.Contains("\"code\":\"unavailable\"", await answer.Content.ReadAsStringAsync());
            }

            // The three still work, and a place freed is a place taken.
            var received = Events.On<string, string>(open[1], ClientEvents.ReceiveMessage);
            await open[0].InvokeAsync(HubMethods.SendMessage, "u0", "still here").DefaultTimeout();
            Assert.Equal("still here", (await received.NextAsync()).Item2);
            await open[2].DisposeAsync();
            open.RemoveAt(2);
            var again = server.Hub(HubRoutes.Chat, server.Token("again"), skipNegotiation: true);
            await TestTimeouts.Eventually(() =>
            {
                try { again.StartAsync().Wait(TestTimeouts.Network); return true; }
                catch (AggregateException) { return false; }
            }, "a freed place is taken");
            open.Add(again);
        }
        finally
        {
            foreach (var connection in open) await connection.DisposeAsync();
        }
    }

    [Theory]
    [InlineData(null, 20_000L, 14_880L)]
    [InlineData(null, 1_024L, 384L)]
    [InlineData(null, null, null)]
    [InlineData(0, 20_000L, null)]
    [InlineData(500, 20_000L, 500L)]
    public void TheDefaultCeilingLeavesHeadroomBelowTheOpenFileLimit(int? configured, long? openFiles, long? expected)
    {
        Assert.Equal(expected, ConnectionCeiling.Resolve(configured, openFiles));
        if (configured is null && openFiles is { } files)
        {
            // WebSockets and plain connections together stay below the descriptors, with headroom.
            Assert.True(expected + ConnectionCeiling.PlainConnections(files) <= Math.Max(files - ConnectionCeiling.Headroom, files / 2));
        }
    }

    [Fact]
    public void TheOpenFileLimitIsReadFromProcLimits()
    {
        const string limits = """
            Limit                     Soft Limit           Hard Limit           Units
            Max processes             95282                95282                processes
            Max open files            20000                20000                files
            """;
        Assert.Equal(20_000, ConnectionCeiling.ParseOpenFiles(limits));
        Assert.Null(ConnectionCeiling.ParseOpenFiles("Max open files            unlimited            unlimited            files"));
        Assert.NotNull(ConnectionCeiling.OpenFileLimit()); // this machine is Linux
    }
}
