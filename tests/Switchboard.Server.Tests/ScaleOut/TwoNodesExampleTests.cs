using System.Diagnostics;
using System.Net;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.Options;
using Switchboard.Contracts;
using Switchboard.Server.Authentication;
using Switchboard.Server.Tests.Infrastructure;

namespace Switchboard.Server.Tests.ScaleOut;

/// <summary>
/// <c>deploy/two-nodes.sh</c>, the shipped two-nodes-plus-Redis example, run as documented: Redis,
/// two Switchboard processes and HAProxy on loopback ports. Clients that come in through the
/// proxy land on both nodes (each node's metrics count its own) and still talk to each other;
/// SIGTERM stops every part.
/// </summary>
[Collection(ScaleOutCollection.Name)]
public sealed class TwoNodesExampleTests
{
    private static readonly TimeSpan StartLimit = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task TheExampleServesClientsOnBothNodesThroughTheProxyAndStopsOnSigterm()
    {
        var (listen, redis, node1, node2) = (Ports.Free(), Ports.Free(), Ports.Free(), Ports.Free());
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(RepositoryFiles.Find("deploy/two-nodes.sh"));
        start.Environment["Jwt__Key"] = SwitchboardFactory.TestKey;
        start.Environment["SWITCHBOARD_LISTEN"] = $"127.0.0.1:{listen}";
        start.Environment["REDIS_PORT"] = redis.ToString(System.Globalization.CultureInfo.InvariantCulture);
        start.Environment["NODE1_PORT"] = node1.ToString(System.Globalization.CultureInfo.InvariantCulture);
        start.Environment["NODE2_PORT"] = node2.ToString(System.Globalization.CultureInfo.InvariantCulture);
        start.Environment["SWITCHBOARD_DLL"] = typeof(Program).Assembly.Location;
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        var output = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using var script = new Process { StartInfo = start };
        script.OutputDataReceived += (_, e) => { if (e.Data is not null) output.Enqueue(e.Data); };
        script.ErrorDataReceived += (_, e) => { if (e.Data is not null) output.Enqueue(e.Data); };
        script.Start();
        script.BeginOutputReadLine();
        script.BeginErrorReadLine();
        try
        {
            var proxy = $"http://127.0.0.1:{listen}";
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
            var deadline = DateTime.UtcNow + StartLimit;
            // Both nodes ready behind the proxy: two readiness checks in a row answer (round robin).
            while (!(await ReadyAsync(http, proxy) && await ReadyAsync(http, proxy)))
            {
                Assert.False(script.HasExited, "the script exited:\n" + string.Join('\n', output));
                Assert.True(DateTime.UtcNow < deadline, "not ready in time:\n" + string.Join('\n', output));
                await Task.Delay(100);
            }

            var tokens = new TokenIssuer(Options.Create(new JwtOptions { Key = SwitchboardFactory.TestKey }), TimeProvider.System);
            using var admin = new HttpClient { Timeout = TestTimeouts.Network };
            admin.DefaultRequestHeaders.Authorization = new("Bearer", tokens.Issue("ops", "Ops", [Roles.Admin]));
            async Task<double[]> PerNodeAsync() => await Task.WhenAll(new[] { node1, node2 }.Select(async port =>
                PrometheusText.Parse(await admin.GetStringAsync($"http://127.0.0.1:{port}/metrics").DefaultTimeout())
                    .GetValueOrDefault(PrometheusText.Series("switchboard_connections"))));
            var clients = new List<HubConnection>();
            try
            {
                // Round robin spreads connections over both nodes once HAProxy's own health checks
                // (every second) see both up, which may lag the readiness seen above (both of its
                // answers may have come from one node): connect until both hold some, bounded in
                // time and count, pacing the connects after the first four so a check can pass.
                double[] perNode = [0, 0];
                var connectUntil = DateTime.UtcNow + TestTimeouts.Network;
                while (clients.Count < 4 || perNode.Any(n => n < 1))
                {
                    Assert.True(clients.Count < 64 && DateTime.UtcNow < connectUntil,
                        $"connections did not reach both nodes: {string.Join(", ", perNode)}");
                    if (clients.Count >= 4) await Task.Delay(100);
                    var token = tokens.Issue($"u{clients.Count}", $"U{clients.Count}", []);
                    var connection = new HubConnectionBuilder().WithUrl(proxy + HubRoutes.Chat, o =>
                    {
                        o.Transports = HttpTransportType.WebSockets;
                        o.SkipNegotiation = true;
                        o.AccessTokenProvider = () => Task.FromResult<string?>(token);
                    }).Build();
                    clients.Add(connection);
                    await connection.StartedAsync();
                    perNode = await PerNodeAsync();
                }
                Assert.Equal(clients.Count, perNode.Sum());

                var received = clients.Select(c => Events.On<string, string>(c, ClientEvents.ReceiveMessage)).ToList();
                foreach (var client in clients) await client.InvokeAsync(HubMethods.JoinGroup, "lobby").DefaultTimeout();

                await clients[0].InvokeAsync(HubMethods.SendMessageToGroup, "lobby", "U0", "hello from one node").DefaultTimeout();

                foreach (var inbox in received) Assert.Equal(("U0", "hello from one node"), await inbox.NextAsync());
            }
            finally
            {
                foreach (var client in clients) await client.DisposeAsync();
            }

            Process.Start("kill", ["-TERM", script.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!.WaitForExit(5000);
            await script.WaitForExitAsync().WaitAsync(TestTimeouts.Network);
            Assert.Equal(0, script.ExitCode);
            using var probe = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
            foreach (var port in new[] { listen, node1, node2 })
            {
                await Assert.ThrowsAsync<HttpRequestException>(() => probe.GetAsync($"http://127.0.0.1:{port}/health/live"));
            }
        }
        finally
        {
            if (!script.HasExited)
            {
                // A failed test still lets the script stop its parts (and remove its folder).
                Process.Start("kill", ["-TERM", script.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!.WaitForExit(5000);
                if (!script.WaitForExit(15_000)) script.Kill(entireProcessTree: true);
            }
        }
    }

    private static async Task<bool> ReadyAsync(HttpClient http, string baseUrl)
    {
        try
        {
            return (await http.GetAsync(baseUrl + "/health/ready")).StatusCode == HttpStatusCode.OK;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }
}
