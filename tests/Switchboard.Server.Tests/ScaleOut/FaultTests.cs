using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Switchboard.Client;
using Switchboard.Contracts;
using Switchboard.Server.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Switchboard.Server.Tests.ScaleOut;

/// <summary>
/// What a scaled-out Switchboard survives, each with real processes, a real redis-server and
/// (for a lost process) the shipped HAProxy configuration: a process killed with -9, Redis down
/// for 30 seconds, Redis restarted without its data, and Redis dropping the pub/sub connection.
/// </summary>
[Collection(ScaleOutCollection.Name)]
public sealed class FaultTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly List<IAsyncDisposable> _owned = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        for (var i = _owned.Count - 1; i >= 0; i--) await _owned[i].DisposeAsync();
    }

    private T Own<T>(T item) where T : IAsyncDisposable
    {
        _owned.Add(item);
        return item;
    }

    [Fact]
    public async Task ClientsOfAKilledProcessReconnectToAnotherAndRecoverWithNoGapsOrRepeats()
    {
        var cluster = Own(await Cluster.StartAsync(nodes: 2));
        var proxy = Own(await HaProxy.StartAsync(cluster.Nodes[0].BaseUrl, cluster.Nodes[1].BaseUrl));
        const string group = "kill";
        var subscribers = new List<Subscriber>();
        for (var i = 0; i < 6; i++)
        {
            subscribers.Add(Own(await Subscriber.StartAsync(cluster.Client(proxy.BaseUrl, $"user{i}"), group)));
        }
        var survivor = cluster.Http(1);
        var published = 0;
        async Task PublishAsync(int count)
        {
            for (var i = 0; i < count; i++)
            {
                var ack = await survivor.PostAsJsonAsync($"/api/groups/{group}/messages", new PublishRequest { Message = $"m{++published}" });
                ack.EnsureSuccessStatusCode();
            }
        }

        await PublishAsync(50);
        var killedAt = Stopwatch.StartNew();
        await cluster.Nodes[0].KillAsync();
        await PublishAsync(50);
        await Task.WhenAll(subscribers.Select(s => s.ReconnectedOrNeverLeft)).DefaultTimeout();
        await PublishAsync(50);

        foreach (var subscriber in subscribers)
        {
            await subscriber.ReceivedAsync(published);
            Assert.Equal(Enumerable.Range(1, published).Select(i => (long)i), subscriber.Offsets);
        }
        Assert.Contains(subscribers, s => s.Reconnects > 0); // round robin put some on the killed process

        // Presence converges: the killed process's connections are swept, the reconnected ones count.
        while (true)
        {
            var presence = await survivor.GetFromJsonAsync<GroupPresenceDto>($"/api/groups/{group}/presence");
            if (presence!.Connections == subscribers.Count) break;
            Assert.True(killedAt.Elapsed < TimeSpan.FromSeconds(15),
                $"presence still counts {presence.Connections} connections {killedAt.Elapsed} after the kill");
            await Task.Delay(100);
        }
        output.WriteLine($"presence converged {killedAt.Elapsed} after the kill");
    }

    [Fact]
    public async Task RedisDownForThirtySecondsRefusesPublishesClearlyDisconnectsNobodyAndResumesByItself()
    {
        var redis = await RedisServer.StartAsync(persist: true);
        var cluster = Own(await Cluster.StartAsync(nodes: 2, redis));
        const string group = "outage";
        var subscribers = new List<Subscriber>();
        for (var i = 0; i < 20; i++)
        {
            subscribers.Add(Own(await Subscriber.StartAsync(cluster.Client(cluster.Nodes[i % 2].BaseUrl, $"u{i}"), group)));
        }
        var http = cluster.Http(0);
        var hubPublisher = Own(await cluster.ConnectAsync(1, HubRoutes.Chat, "hub-publisher"));
        var acknowledged = new List<long>();
        var refusals = new List<HttpResponseMessage>();
        async Task<bool> TryPublishAsync()
        {
            var response = await http.PostAsJsonAsync($"/api/groups/{group}/messages", new PublishRequest { Message = "tick" });
            if (response.IsSuccessStatusCode)
            {
                acknowledged.Add((await response.Content.ReadFromJsonAsync<PublishResult>())!.Offset);
                return true;
            }
            refusals.Add(response);
            return false;
        }

        for (var i = 0; i < 20; i++) Assert.True(await TryPublishAsync());
        await redis.StopAsync();
        var outage = Stopwatch.StartNew();
        var hubRefusal = default(HubException);
        while (outage.Elapsed < TimeSpan.FromSeconds(30)) // steady publishing through the outage, bounded by it
        {
            Assert.False(await TryPublishAsync());
            hubRefusal ??= await Assert.ThrowsAsync<HubException>(() =>
                hubPublisher.InvokeAsync<PublishResult>(HubMethods.Publish, group, new PublishRequest { Message = "x" }).DefaultTimeout());
            await Task.Delay(200);
        }
        var ready = await http.GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal("Degraded", await ready.Content.ReadAsStringAsync());

        await redis.StartAgainAsync();
        var back = Stopwatch.StartNew();
        while (!await TryPublishAsync())
        {
            Assert.True(back.Elapsed < TestTimeouts.Network, "publishing did not resume after Redis returned");
            await Task.Delay(100);
        }
        for (var i = 0; i < 20; i++) Assert.True(await TryPublishAsync());
        // The backplane reconnects on its own schedule; a live message it dropped meanwhile is
        // filled from history when the next one arrives. Keep the group talking (bounded).
        for (var extra = 0; subscribers.Any(s => s.Count < acknowledged.Count) && extra < 50; extra++)
        {
            await Task.Delay(200);
            Assert.True(await TryPublishAsync());
        }

        // Every refusal during the outage was a clear 503 with Retry-After and a stable code.
        Assert.NotEmpty(refusals);
        foreach (var refusal in refusals)
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refusal.StatusCode);
            Assert.NotNull(refusal.Headers.RetryAfter);
            var problem = await refusal.Content.ReadFromJsonAsync<Dictionary<string, object>>();
            Assert.Contains(problem!["code"].ToString(), new[] { ErrorCodes.HistoryUnavailable, ErrorCodes.Unavailable });
        }
        Assert.Contains(ErrorCodes.HistoryUnavailable + ": ", hubRefusal!.Message);

        // Nothing acknowledged was lost, nobody was disconnected, and everyone has everything once, in order.
        Assert.Equal(Enumerable.Range(1, acknowledged.Count).Select(i => (long)i), acknowledged);
        foreach (var subscriber in subscribers)
        {
            await subscriber.ReceivedAsync(acknowledged.Count);
            Assert.Equal(acknowledged, subscriber.Offsets);
        }
        Assert.Equal(0, subscribers.Count(s => s.Reconnects > 0)); // fewer than 1% of clients disconnected: none
        output.WriteLine($"{refusals.Count} publishes refused during the outage; {acknowledged.Count} acknowledged and delivered");
    }

    [Fact]
    public async Task TheUsersOfAKilledProcessAreAnnouncedAsLeftToPresenceWatchersElsewhere()
    {
        // Short heartbeats, so that the survivor sweeps the dead process within a second or two.
        var cluster = Own(await Cluster.StartAsync(nodes: 2, settings: new()
        {
            ["Switchboard__Redis__HeartbeatInterval"] = "00:00:00.250",
            ["Switchboard__Redis__ProcessTimeout"] = "00:00:01",
        }));
        var group = "watched-" + Guid.NewGuid().ToString("N")[..8];
        var watcher = Own(await cluster.ConnectAsync(1, HubRoutes.Chat, "watcher"));
        var joined = Events.On<PresenceEvent>(watcher, ClientEvents.PresenceJoined);
        var left = Events.On<PresenceEvent>(watcher, ClientEvents.PresenceLeft);
        await watcher.InvokeAsync<SubscribeResult>(HubMethods.Subscribe, group, new SubscribeRequest { Presence = true }).DefaultTimeout();
        var dan = Own(await cluster.ConnectAsync(0, HubRoutes.Chat, "dan", "Dan"));
        await dan.InvokeAsync(HubMethods.JoinGroup, group).DefaultTimeout();
        while ((await joined.NextAsync()).UserId != "dan") { } // the watcher's own arrival comes first

        await cluster.Nodes[0].KillAsync();

        var departure = await left.NextAsync();
        Assert.Equal((group, "dan"), (departure.Group, departure.UserId));
        using var http = cluster.Http(1);
        Assert.Equal(1, (await http.GetFromJsonAsync<GroupPresenceDto>($"/api/groups/{group}/presence").DefaultTimeout())!.Users); // the watcher
    }

    [Fact]
    public async Task ConnectionsOfAKilledProcessAreNeitherFoundNorCountedAsClosedThoughPresenceStillListsThem()
    {
        // Default heartbeats: presence keeps the killed process's connections for its ProcessTimeout.
        // Closes wait up to a minute for answers, longer than the test waits: the killed process
        // must not be waited for at all.
        var cluster = Own(await Cluster.StartAsync(nodes: 2, settings: new() { ["Switchboard__Redis__AnswerTimeout"] = "00:01:00" }));
        var user = "erin-" + Guid.NewGuid().ToString("N")[..8];
        var onKilled = Own(await cluster.ConnectAsync(0, HubRoutes.Chat, user, negotiate: true));
        var onSurvivor = Own(await cluster.ConnectAsync(1, HubRoutes.Chat, user));
        var id = onKilled.ConnectionId!;
        using var http = cluster.Http(1);
        async Task<string?[]> ListedAsync() => (await http.GetFromJsonAsync<JsonElement>($"/api/presence/users/{user}").DefaultTimeout())
            .GetProperty("connectionIds").EnumerateArray().Select(c => c.GetString()).ToArray();
        await TestTimeouts.Eventually(() => ListedAsync().Result.Length == 2, "presence lists both of erin's connections");

        await cluster.Nodes[0].KillAsync();

        Assert.Contains(id, await ListedAsync());
        // Redis has dropped the killed process's subscriptions (its socket closed with it), so a
        // close is answered by the survivor alone.
        var admin = await cluster.Redis.AdminAsync();
        await TestTimeouts.Eventually(() => (long)admin.Execute("PUBSUB", "NUMSUB", cluster.Prefix + ":cluster:answering")[1] == 1,
            "one process is left to answer closes");
        var one = await http.DeleteAsync($"/api/connections/{id}").DefaultTimeout();
        Assert.Equal(HttpStatusCode.NotFound, one.StatusCode); // it was "closed: 1" while nothing was closed

        var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        onSurvivor.Closed += _ => { closed.TrySetResult(); return Task.CompletedTask; };
        var all = await http.DeleteAsync($"/api/users/{user}/connections").DefaultTimeout();
        Assert.Equal(HttpStatusCode.OK, all.StatusCode);
        Assert.Equal(1, (await all.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("closed").GetInt32()); // was presence's 2
        await closed.Task.DefaultTimeout();
    }

    [Fact]
    public async Task ARedisRestartedWithoutItsDataChangesTheEpochAndClientsAreToldTheyCouldNotRecover()
    {
        var cluster = Own(await Cluster.StartAsync(nodes: 2));
        const string group = "wiped";
        var subscriber = Own(await Subscriber.StartAsync(cluster.Client(cluster.Nodes[1].BaseUrl, "reader"), group));
        var http = cluster.Http(0);
        var timeline = new Timeline();
        subscriber.Record(timeline);
        try
        {
            var before = await PublishAsync(http, group, "before");
            await subscriber.ReceivedAsync(1);

            await cluster.Redis.StopAsync();
            timeline.Add("redis stopped");
            await cluster.Redis.StartAgainAsync(wipe: true);
            var back = Stopwatch.StartNew();
            timeline.Add("redis started again, empty");

            var after = await Retry(() => PublishAsync(http, group, "after-1"));
            timeline.Add($"published after-1: {after.Offset}@{after.Epoch}");
            Assert.NotEqual(before.Epoch, after.Epoch);
            Assert.Equal(1, after.Offset);
            // A live message reaches the client only once node 0's backplane connection and node
            // 1's backplane subscription are both back (StackExchange.Redis reconnects on its 1 s
            // heartbeat; until then the publish to the backplane fails and is dropped): the client
            // learns of the new epoch from the first one that does. Keep the group talking until
            // then, bounded by a deadline rather than a number of publishes (98 publishes were about
            // 10 s, and nothing was published during the 15 s wait after them, so only a message
            // already on its way could end that wait). Measured under the full suite's load: the
            // epoch change reached the subscriber 0.4 to 2.8 s after Redis returned.
            var channels = "";
            var failedDeliveries = 0L;
            for (var i = 2; !subscriber.RecoveryFailure.Task.IsCompleted; i++)
            {
                Assert.True(back.Elapsed < BackplaneReturn,
                    $"no message of the new epoch reached the subscriber within {BackplaneReturn} of Redis returning");
                await Task.Delay(100);
                var published = await PublishAsync(http, group, $"after-{i}");
                timeline.Add($"published after-{i}: {published.Offset}");
                // Which side is still away: node 0's publishes to the backplane failing, or the
                // chat hub's subscriptions (the group's, each node's own ack channel) not back in Redis.
                var failed = await DeliveryFailuresAsync(http);
                if (failed != failedDeliveries) timeline.Add($"node 0 live deliveries failed so far: {failedDeliveries = failed}");
                var now = string.Join(' ', (await cluster.Redis.SubscribedChannelsAsync("*ChatHub:[gi]*"))
                    .Where(c => c.Contains(group, StringComparison.Ordinal) || c.Contains(":ack:", StringComparison.Ordinal))
                    .Select(c => c[(c.IndexOf("ChatHub:", StringComparison.Ordinal) + 8)..]).Order(StringComparer.Ordinal));
                if (now != channels) timeline.Add("chat hub channels with subscribers: " + (channels = now));
            }
            var failure = await subscriber.RecoveryFailure.Task;
            Assert.Equal((group, before.Epoch, after.Epoch), (failure.Group, failure.LastEpoch, failure.CurrentEpoch));
            Assert.Equal("before", subscriber.Payloads[0]);
            Assert.All(subscriber.Payloads.Skip(1), p => Assert.StartsWith("after-", p));
            output.WriteLine(timeline.Report(cluster, subscriber.Describe(group), only: "Redis"));
        }
        catch (Exception)
        {
            output.WriteLine(timeline.Report(cluster, subscriber.Describe(group)));
            throw;
        }
    }

    /// <summary>
    /// How long after Redis returns a live message must reach a subscriber on another node: about
    /// ten times the slowest return measured under the full suite's load (2.8 s).
    /// </summary>
    private static readonly TimeSpan BackplaneReturn = TimeSpan.FromSeconds(30);

    /// <summary>The process's count of live deliveries that failed (<c>switchboard.delivery.failures</c>), from its /metrics page.</summary>
    private static async Task<long> DeliveryFailuresAsync(HttpClient http)
    {
        var match = Regex.Match(await http.GetStringAsync("/metrics").DefaultTimeout(), @"(?m)^switchboard_delivery_failures\S* ([0-9]+)");
        return match.Success ? long.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : 0;
    }

    private static async Task<PublishResult> PublishAsync(HttpClient http, string group, string message)
    {
        var response = await http.PostAsJsonAsync($"/api/groups/{group}/messages", new PublishRequest { Message = message });
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<PublishResult>())!;
    }

    private static async Task<T> Retry<T>(Func<Task<T>> action)
    {
        var deadline = DateTime.UtcNow + TestTimeouts.Network;
        while (true)
        {
            try
            {
                return await action();
            }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
        }
    }

    /// <summary>A <see cref="SwitchboardClient"/> subscribed to one group, recording what it delivers.</summary>
    private sealed class Subscriber : IAsyncDisposable
    {
        private readonly SwitchboardClient _client;
        private readonly List<GroupEnvelope> _received = [];
        private readonly TaskCompletionSource _reconnected = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _reconnects;
        private int _gaps;

        private Subscriber(SwitchboardClient client)
        {
            _client = client;
            client.MessageReceived += envelope =>
            {
                lock (_received) _received.Add(envelope);
                Interlocked.Exchange(ref _changed, new(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
            };
            client.Reconnecting += _ => Interlocked.Increment(ref _reconnects);
            client.Resubscribed += () => _reconnected.TrySetResult();
            client.RecoveryFailed += failure => RecoveryFailure.TrySetResult(failure);
            client.GapFilled += (_, _, _) => Interlocked.Increment(ref _gaps);
        }

        public static async Task<Subscriber> StartAsync(SwitchboardClient client, string group)
        {
            var subscriber = new Subscriber(client);
            // As any client behind a load balancer would: retry a start the proxy refused (bounded).
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    await client.StartAsync().DefaultTimeout();
                    break;
                }
                catch (Exception) when (attempt < 5)
                {
                    await Task.Delay(200);
                }
            }
            await client.SubscribeAsync(group, presence: true).DefaultTimeout();
            return subscriber;
        }

        /// <summary>Writes what the client goes through (not each message) to <paramref name="timeline"/>.</summary>
        public void Record(Timeline timeline)
        {
            _client.MessageReceived += e => timeline.Add($"subscriber received {e.Offset}@{e.Epoch}");
            _client.Reconnecting += e => timeline.Add($"subscriber reconnecting: {e?.Message}");
            _client.Resubscribed += () => timeline.Add("subscriber resubscribed");
            _client.GapFilled += (_, first, last) => timeline.Add($"subscriber filled gap {first}..{last}");
            _client.RecoveryFailed += f => timeline.Add($"subscriber recovery failed: {f}");
            _client.SubscriptionLost += l => timeline.Add($"subscriber lost {l.Group}: {l.Error.Message}");
            _client.Closed += e => timeline.Add($"subscriber closed: {e?.Message}");
        }

        /// <summary>The client's state, for a failure's report.</summary>
        public string Describe(string group) =>
            $"connection {_client.Connection.State}, reconnects {Reconnects}, gaps filled {GapsFilled}, position {_client.PositionOf(group)}, " +
            $"recovery failure {(RecoveryFailure.Task.IsCompleted ? RecoveryFailure.Task.Result : "none")}, received {Count}: " +
            string.Join(' ', Offsets);

        public int Reconnects => Volatile.Read(ref _reconnects);
        public int GapsFilled => Volatile.Read(ref _gaps);
        public TaskCompletionSource<RecoveryFailure> RecoveryFailure { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Completes once the client resubscribed after a reconnect, or at once if it never lost its connection.</summary>
        public Task ReconnectedOrNeverLeft => Reconnects == 0 && _client.Connection.State == HubConnectionState.Connected
            ? Task.CompletedTask
            : _reconnected.Task;

        public int Count { get { lock (_received) return _received.Count; } }
        public List<long> Offsets { get { lock (_received) return [.. _received.Select(e => e.Offset)]; } }
        public List<string> Payloads { get { lock (_received) return [.. _received.Select(e => e.Payload)]; } }

        public async Task ReceivedAsync(int count)
        {
            var deadline = DateTime.UtcNow + TestTimeouts.Network;
            while (Count < count)
            {
                var changed = Volatile.Read(ref _changed).Task;
                if (Count >= count) break;
                var left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero) throw new TimeoutException($"received {Count} of {count} messages");
                try
                {
                    await changed.WaitAsync(left);
                }
                catch (TimeoutException)
                {
                    throw new TimeoutException($"received {Count} of {count} messages");
                }
            }
        }

        public ValueTask DisposeAsync() => _client.DisposeAsync();
    }
}
