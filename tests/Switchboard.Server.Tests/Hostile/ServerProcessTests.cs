using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.SignalR.Client;
using Switchboard.Contracts;
using Switchboard.Server.Tests.Infrastructure;

namespace Switchboard.Server.Tests.Hostile;

/// <summary>The real server process: JSON logs that keep secrets out, and SIGTERM in the middle of traffic.</summary>
public sealed class ServerProcessTests : IDisposable
{
    private readonly string _data = Directory.CreateTempSubdirectory("switchboard-process-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_data, recursive: true); } catch (IOException) { }
    }

    /// <summary>Sends SIGTERM (as systemd stops a service) and waits, bounded, for the graceful shutdown to finish.</summary>
    private static async Task TerminateAsync(ServerProcess server)
    {
        using (var kill = System.Diagnostics.Process.Start("kill", ["-TERM", server.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync().WaitAsync(TestTimeouts.Network);
            Assert.Equal(0, kill.ExitCode);
        }
        using var process = System.Diagnostics.Process.GetProcessById(server.Pid);
        try
        {
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (TimeoutException e)
        {
            // Say where shutdown stopped: the server's last lines (Microsoft.Hosting.Lifetime logs its steps).
            var lines = server.Output.Split('\n');
            throw new TimeoutException("The server did not exit within 30 s of SIGTERM. Its last output:\n" +
                string.Join('\n', lines.TakeLast(40)), e);
        }
    }

    private static HubConnection Client(string baseUrl, string hub, string token, bool reconnect = false)
    {
        var builder = new HubConnectionBuilder().WithUrl(baseUrl + hub, o => o.AccessTokenProvider = () => Task.FromResult<string?>(token));
        if (reconnect) builder.WithAutomaticReconnect([TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(1)]);
        return builder.Build();
    }

    [Fact]
    public async Task JsonLogsAtTraceLevelAreAllJsonAndHoldNoTokenAndNoMessageBody()
    {
        var server = await ServerProcess.StartAsync(_data, new()
        {
            ["Logging__Console__FormatterName"] = "json",
            ["Logging__LogLevel__Default"] = "Trace",
            ["Logging__LogLevel__Microsoft.AspNetCore"] = "Trace",
        });
        await using var _ = server;
        var token = IssueToken("lou", roles: ["Admin"]);
        var bodies = Enumerable.Range(0, 4).Select(i => $"secret-body-{i}-{Guid.NewGuid():N}").ToArray();

        // A token in the query string (as browsers send it) and in headers; bodies through a hub, the publish path and the API.
        using (var http = new HttpClient { BaseAddress = new Uri(server.BaseUrl), Timeout = TestTimeouts.Network })
        {
            (await http.PostAsync($"{HubRoutes.Chat}/negotiate?negotiateVersion=1&access_token={token}", null).DefaultTimeout()).EnsureSuccessStatusCode();
            http.DefaultRequestHeaders.Authorization = new("Bearer", token);
            (await http.PostAsJsonAsync("/api/notifications/broadcast", bodies[0]).DefaultTimeout()).EnsureSuccessStatusCode();
        }
        await using (var chat = Client(server.BaseUrl, HubRoutes.Chat, token))
        {
            var received = Events.On<string, string>(chat, ClientEvents.ReceiveMessage);
            await chat.StartedAsync();
            await chat.InvokeAsync(HubMethods.SendMessage, "lou", bodies[1]).DefaultTimeout();
            Assert.Equal(bodies[1], (await received.NextAsync()).Item2);
            await chat.InvokeAsync<PublishResult>(HubMethods.Publish, "logged", new PublishRequest { Message = bodies[2] }).DefaultTimeout();
            var page = await chat.InvokeAsync<HistoryPageDto>(HubMethods.GetHistory, "logged", 0L, 10).DefaultTimeout();
            Assert.Equal(bodies[2], page.Messages.Single().Payload);
            await Assert.ThrowsAnyAsync<Exception>(() => chat.InvokeAsync(HubMethods.SendMessage, "lou", bodies[3] + new string(' ', 17_000)).DefaultTimeout());
        }
        await TerminateAsync(server);

        var lines = server.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.NotEmpty(lines);
        foreach (var line in lines)
        {
            using var json = JsonDocument.Parse(line); // every line is one JSON object
            Assert.Equal(JsonValueKind.Object, json.RootElement.ValueKind);
        }
        var all = server.Output;
        Assert.DoesNotContain(token, all);
        Assert.DoesNotContain(token.Split('.')[1], all);
        Assert.All(bodies, body => Assert.DoesNotContain(body, all));
        // The lines that would have held them were written, redacted.
        Assert.Contains("access_token=[redacted]", all);
        Assert.Contains("Received hub invocation: InvocationMessage { InvocationId: ", all);
        Assert.Contains("Arguments: [redacted]", all);
    }

    [Fact]
    public async Task SigtermDuringTrafficKeepsEveryAcknowledgedPublishAndLetsClientsReconnect()
    {
        var server = await ServerProcess.StartAsync(_data);
        await using var _ = server;
        var token = IssueToken("pia");
        await using var publisher = Client(server.BaseUrl, HubRoutes.Chat, token);
        await using var watcher = Client(server.BaseUrl, HubRoutes.Chat, IssueToken("wes"), reconnect: true);
        var reconnecting = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        watcher.Reconnecting += e => { reconnecting.TrySetResult(e); return Task.CompletedTask; };
        await publisher.StartedAsync();
        await watcher.StartedAsync();
        await watcher.InvokeAsync<SubscribeResult>(HubMethods.Subscribe, "steady", new SubscribeRequest()).DefaultTimeout();

        // Publish steadily, one acknowledged message after another, until the server goes away (at most 20,000).
        var acknowledged = new List<(long Offset, string Message)>();
        var enough = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var publishing = Task.Run(async () =>
        {
            for (var i = 0; i < 20_000; i++)
            {
                PublishResult result;
                try
                {
                    result = await publisher.InvokeAsync<PublishResult>(HubMethods.Publish, "steady",
                        new PublishRequest { Id = $"p{i}", Message = $"m{i}" }).DefaultTimeout();
                }
                catch (Exception)
                {
                    return; // the server shut down under it
                }
                lock (acknowledged) acknowledged.Add((result.Offset, $"m{i}"));
                if (i == 50) enough.TrySetResult();
            }
        });
        await enough.Task.DefaultTimeout();

        await TerminateAsync(server);
        await publishing.WaitAsync(TestTimeouts.Network);

        // Closed by the server, and allowed to come back: the reconnecting client starts reconnecting.
        await reconnecting.Task.DefaultTimeout();
        await using var again = await ServerProcess.StartAsync(_data);
        await using var reader = Client(again.BaseUrl, HubRoutes.Chat, token);
        await reader.StartedAsync();
        var stored = new Dictionary<long, string>();
        var after = 0L;
        while (true)
        {
            var page = await reader.InvokeAsync<HistoryPageDto>(HubMethods.GetHistory, "steady", after, 500).DefaultTimeout();
            foreach (var m in page.Messages) stored[m.Offset] = m.Payload;
            if (!page.HasMore || page.Messages.Count == 0) break;
            after = page.Messages[^1].Offset;
        }
        Assert.True(acknowledged.Count > 50);
        Assert.All(acknowledged, a => Assert.Equal(a.Message, stored.GetValueOrDefault(a.Offset)));
    }

    private static string IssueToken(string user, string[]? roles = null) =>
        new Switchboard.Server.Authentication.TokenIssuer(
            Microsoft.Extensions.Options.Options.Create(new Switchboard.Server.Authentication.JwtOptions { Key = SwitchboardFactory.TestKey }),
            TimeProvider.System).Issue(user, user, roles);
}
