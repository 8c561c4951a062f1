using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using Switchboard.Contracts;
using Switchboard.Server.Tests.Infrastructure;

namespace Switchboard.Server.Tests.ScaleOut;

/// <summary>Three Switchboard processes on one real Redis, shared by the tests of <see cref="ClusterTests"/>.</summary>
public sealed class ThreeNodeCluster : IAsyncLifetime
{
    public Cluster Cluster { get; private set; } = null!;

    // The chat hub is open to anonymous users, as in the guide, so a close can be sent to a
    // connection no store knows. Closes wait at most a minute for the processes' answers, longer
    // than a test's HTTP client waits (15 s): a close answered only once that wait ran out fails.
    public async Task InitializeAsync() => Cluster = await Cluster.StartAsync(nodes: 3, settings: new()
    {
        ["Switchboard__AllowAnonymousHubs__0"] = "chat",
        ["Switchboard__Redis__AnswerTimeout"] = "00:01:00",
    });

    public async Task DisposeAsync() => await Cluster.DisposeAsync();
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ScaleOutCollection
{
    /// <summary>Tests with several server processes run alone: they are heavy for a 2-core machine.</summary>
    public const string Name = "scale-out";
}

/// <summary>One system across processes: delivery, order, presence, memberships, closes and idempotency.</summary>
[Collection(ScaleOutCollection.Name)]
public sealed class ClusterTests(ThreeNodeCluster fixture) : IClassFixture<ThreeNodeCluster>, IAsyncLifetime
{
    private readonly Cluster _cluster = fixture.Cluster;
    private readonly List<IAsyncDisposable> _clients = [];
    private readonly string _tag = Guid.NewGuid().ToString("N")[..6];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var client in _clients) await client.DisposeAsync();
    }

    private async Task<HubConnection> Connect(int node, string hub, string user, bool negotiate = false)
    {
        var connection = await _cluster.ConnectAsync(node, hub, user, negotiate: negotiate);
        _clients.Add(connection);
        return connection;
    }

    [Fact]
    public async Task ABroadcastAUserNotificationAndAGroupMessageReachClientsOnEveryProcess()
    {
        var everyone = new List<EventLog<NotificationDto>>();
        for (var node = 0; node < 3; node++)
        {
            everyone.Add(Events.On<NotificationDto>(await Connect(node, HubRoutes.Notifications, $"n{node}-{_tag}"), ClientEvents.ReceiveNotification));
        }
        var http = _cluster.Http(0);
        (await http.PostAsJsonAsync("/api/notifications/broadcast", "to all")).EnsureSuccessStatusCode();
        foreach (var log in everyone)
        {
            Assert.Equal("to all", (await log.NextAsync()).Message);
        }

        // A user connected to process 2, notified through process 1's API.
        (await _cluster.Http(1).PostAsJsonAsync($"/api/notifications/users/n2-{_tag}", "just you")).EnsureSuccessStatusCode();
        Assert.Equal("just you", (await everyone[2].NextAsync()).Message);

        // A chat group with members on processes 1 and 2, sent to from process 0.
        var group = "room-" + _tag;
        var received = new List<EventLog<(string, string)>>();
        foreach (var node in new[] { 1, 2 })
        {
            var member = await Connect(node, HubRoutes.Chat, $"m{node}-{_tag}");
            received.Add(Events.On<string, string>(member, ClientEvents.ReceiveMessage));
            await member.InvokeAsync(HubMethods.JoinGroup, group).DefaultTimeout();
        }
        var sender = await Connect(0, HubRoutes.Chat, "sender-" + _tag);
        await sender.InvokeAsync(HubMethods.SendMessageToGroup, group, "Ann", "hello room").DefaultTimeout();
        foreach (var log in received)
        {
            Assert.Equal(("sender-" + _tag, "hello room"), await log.NextAsync()); // a signed-in sender's name comes from the token
        }
        Assert.Empty(everyone[0].Drain()); // the user message went to one user only
    }

    [Fact]
    public async Task FiveHundredSequentialMessagesReachTwentySubscribersOnAllProcessesInOrderWithoutGapsOrRepeats()
    {
        var group = "seq-" + _tag;
        var logs = new List<EventLog<GroupEnvelope>>();
        for (var i = 0; i < 20; i++)
        {
            var subscriber = await Connect(i % 3, HubRoutes.Chat, $"s{i}-{_tag}");
            logs.Add(Events.On<GroupEnvelope>(subscriber, ClientEvents.ReceiveGroupMessage));
            await subscriber.InvokeAsync<SubscribeResult>(HubMethods.Subscribe, group, new SubscribeRequest()).DefaultTimeout();
        }
        var publisher = await Connect(0, HubRoutes.Chat, "pub-" + _tag);
        for (var i = 1; i <= 500; i++)
        {
            var ack = await publisher.InvokeAsync<PublishResult>(HubMethods.Publish, group, new PublishRequest { Message = $"m{i}" }).DefaultTimeout();
            Assert.Equal(i, ack.Offset);
        }
        foreach (var log in logs)
        {
            var offsets = new List<long>();
            for (var i = 0; i < 500; i++)
            {
                var envelope = await log.NextAsync();
                offsets.Add(envelope.Offset);
                Assert.Equal($"m{envelope.Offset}", envelope.Payload);
            }
            Assert.Equal(Enumerable.Range(1, 500).Select(i => (long)i), offsets); // live, in order: no gap, no repeat
        }
        await Task.Delay(100); // nothing further may arrive: a repeat would show here
        Assert.All(logs, log => Assert.Empty(log.Drain()));
    }

    [Fact]
    public async Task ConcurrentPublishesTravelAsRunsThroughRedisAndArriveInOrderOnEveryProcess()
    {
        // 200 publishes at once on one process: messages stored together cross the backplane as
        // one run (one Redis message of ordinary frames), serialised for JSON and MessagePack alike.
        var group = "runs-" + _tag;
        var envelopes = new List<EventLog<GroupEnvelope>>();
        var plain = new List<EventLog<(string, string)>>();
        for (var node = 1; node <= 2; node++)
        {
            var subscriber = await _cluster.ConnectAsync(node, HubRoutes.Chat, $"rs{node}-{_tag}", messagePack: node == 2);
            _clients.Add(subscriber);
            envelopes.Add(Events.On<GroupEnvelope>(subscriber, ClientEvents.ReceiveGroupMessage));
            await subscriber.InvokeAsync<SubscribeResult>(HubMethods.Subscribe, group, new SubscribeRequest()).DefaultTimeout();
            var joiner = await Connect(node, HubRoutes.Chat, $"rj{node}-{_tag}");
            plain.Add(Events.On<string, string>(joiner, ClientEvents.ReceiveMessage));
            await joiner.InvokeAsync(HubMethods.JoinGroup, group).DefaultTimeout();
        }
        using var http = _cluster.Http(0, _cluster.PublisherToken());

        var responses = await Task.WhenAll(Enumerable.Range(0, 200).Select(i =>
            http.PostAsJsonAsync($"/api/groups/{group}/messages", new PublishRequest { Message = $"p{i}" }))).DefaultTimeout();

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        var payloads = new Dictionary<long, string>();
        foreach (var log in envelopes)
        {
            var offsets = new List<long>();
            for (var i = 0; i < 200; i++)
            {
                var envelope = await log.NextAsync();
                offsets.Add(envelope.Offset);
                payloads[envelope.Offset] = envelope.Payload;
            }
            Assert.Equal(Enumerable.Range(1, 200).Select(i => (long)i), offsets);
        }
        foreach (var log in plain)
        {
            var received = new List<string>();
            for (var i = 0; i < 200; i++) received.Add((await log.NextAsync()).Item2);
            Assert.Equal(Enumerable.Range(1, 200).Select(o => payloads[o]), received);
        }
    }

    [Fact]
    public async Task PresenceAndTheConnectionTrackerAgreeOnEveryProcess()
    {
        var group = "lobby-" + _tag;
        var amyOn0 = await Connect(0, HubRoutes.Chat, "amy-" + _tag, negotiate: true);
        var amyOn2 = await Connect(2, HubRoutes.Chat, "amy-" + _tag, negotiate: true);
        var bob = await Connect(1, HubRoutes.Chat, "bob-" + _tag);
        foreach (var connection in new[] { amyOn0, amyOn2, bob })
        {
            await connection.InvokeAsync<SubscribeResult>(HubMethods.Subscribe, group, new SubscribeRequest()).DefaultTimeout();
        }
        for (var node = 0; node < 3; node++)
        {
            var presence = await _cluster.Http(node).GetFromJsonAsync<GroupPresenceDto>($"/api/groups/{group}/presence");
            Assert.Equal((2, 3), (presence!.Users, presence.Connections));
            var tracked = await _cluster.Http(node).GetFromJsonAsync<TrackedUser>($"/api/presence/users/amy-{_tag}");
            Assert.True(tracked!.Online);
            Assert.Equal(new[] { amyOn0.ConnectionId, amyOn2.ConnectionId }.Order(), tracked.ConnectionIds.Order());
        }

        await amyOn2.DisposeAsync();
        await TestTimeouts.Eventually(() =>
            _cluster.Http(1).GetFromJsonAsync<TrackedUser>($"/api/presence/users/amy-{_tag}").Result!.ConnectionIds.Count == 1,
            "process 1 saw amy's connection on process 2 close");
    }

    private sealed record TrackedUser(string UserId, bool Online, List<string> ConnectionIds);

    [Fact]
    public async Task UserLevelGroupsAndClosingConnectionsWorkFromAnyProcess()
    {
        var user = "carol-" + _tag;
        var group = "team-" + _tag;
        var onNode1 = await Connect(1, HubRoutes.Chat, user, negotiate: true);
        var onNode2 = await Connect(2, HubRoutes.Chat, user);
        var messages1 = Events.On<string, string>(onNode1, ClientEvents.ReceiveMessage);
        var messages2 = Events.On<string, string>(onNode2, ClientEvents.ReceiveMessage);

        (await _cluster.Http(0).PostAsync($"/api/groups/{group}/users/{user}", null)).EnsureSuccessStatusCode();
        // The membership reaches the other processes through Redis: publish until both have it.
        await TestTimeouts.Eventually(() =>
            _cluster.Http(0).GetFromJsonAsync<GroupPresenceDto>($"/api/groups/{group}/presence").Result!.Connections == 2,
            "both of carol's connections joined the group");
        (await _cluster.Http(0).PostAsJsonAsync($"/api/groups/{group}/messages", new PublishRequest { Message = "welcome" })).EnsureSuccessStatusCode();
        Assert.Equal("welcome", (await messages1.NextAsync()).Item2);
        Assert.Equal("welcome", (await messages2.NextAsync()).Item2);

        // One connection closed by id through a process that does not hold it.
        var closed1 = new TaskCompletionSource<Exception?>();
        onNode1.Closed += e => { closed1.TrySetResult(e); return Task.CompletedTask; };
        var one = await _cluster.Http(2).DeleteAsync($"/api/connections/{onNode1.ConnectionId}?reason=maintenance");
        Assert.Equal(HttpStatusCode.OK, one.StatusCode);
        Assert.Contains("maintenance", (await closed1.Task.DefaultTimeout())?.Message);

        // Every connection of the user, from a third process.
        var closed2 = new TaskCompletionSource<Exception?>();
        onNode2.Closed += e => { closed2.TrySetResult(e); return Task.CompletedTask; };
        var all = await _cluster.Http(0).DeleteAsync($"/api/users/{user}/connections");
        Assert.Equal(HttpStatusCode.OK, all.StatusCode);
        await closed2.Task.DefaultTimeout();

        var missing = await _cluster.Http(0).DeleteAsync("/api/connections/no-such-connection");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task AnAnonymousConnectionIsClosedByIdFromAProcessThatDoesNotHoldIt()
    {
        // Anonymous connections are in no shared store: the process that holds one answers the close.
        async Task<HubConnection> ConnectAnonymously()
        {
            var connection = new HubConnectionBuilder().WithUrl(_cluster.Nodes[1].BaseUrl + HubRoutes.Chat, o => o.Transports = HttpTransportType.WebSockets).Build();
            _clients.Add(connection);
            await connection.StartedAsync();
            return connection;
        }
        var anonymous = await ConnectAnonymously();
        var neighbour = await ConnectAnonymously();
        var closed = new TaskCompletionSource<Exception?>();
        anonymous.Closed += e => { closed.TrySetResult(e); return Task.CompletedTask; };

        var id = anonymous.ConnectionId; // the client forgets it once closed
        var response = await _cluster.Http(2).DeleteAsync($"/api/connections/{id}?reason=spam");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("closed").GetInt32());
        Assert.Contains("disconnected: spam", (await closed.Task.DefaultTimeout())?.Message);

        // Once it is gone no process answers, and the same request is not found; the neighbour stays.
        var again = await _cluster.Http(2).DeleteAsync($"/api/connections/{id}");
        Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
        Assert.Equal(HubConnectionState.Connected, neighbour.State);
        await neighbour.InvokeAsync(HubMethods.SendMessage, "guest", "still here").DefaultTimeout();
    }

    [Fact]
    public async Task EveryProcessAnswersACloseSoNoneFoundIsKnownAtOnceAndAUsersCountIsTheSumOfTheAnswers()
    {
        // Each of the three processes answers, with 0 when it holds nothing: nothing waits out the
        // fixture's minute (the HTTP client gives up after 15 s).
        Assert.Equal(HttpStatusCode.NotFound, (await _cluster.Http(0).DeleteAsync($"/api/connections/nowhere-{_tag}")).StatusCode);
        async Task<int> CloseUserAsync(int node, string user)
        {
            var response = await _cluster.Http(node).DeleteAsync($"/api/users/{user}/connections");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("closed").GetInt32();
        }
        Assert.Equal(0, await CloseUserAsync(1, "nobody-" + _tag));

        // Two connections on one process and one on another, none on the process asked.
        var user = "spread-" + _tag;
        var connections = new[] { await Connect(1, HubRoutes.Chat, user), await Connect(1, HubRoutes.Notifications, user), await Connect(2, HubRoutes.Chat, user) };
        var allClosed = Task.WhenAll(connections.Select(c =>
        {
            var closed = new TaskCompletionSource();
            c.Closed += _ => { closed.TrySetResult(); return Task.CompletedTask; };
            return closed.Task;
        }));
        Assert.Equal(3, await CloseUserAsync(0, user));
        await allClosed.DefaultTimeout();
        Assert.Equal(0, await CloseUserAsync(0, user));
    }

    [Fact]
    public async Task SomethingThatListensOnTheCommandsChannelButNeverAnswersIsNotWaitedFor()
    {
        // A process of an older build (which ignores reply ids) or a redis-cli left subscribed:
        // it receives every close and answers none. Only the processes that answer are counted.
        await using var redis = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(_cluster.Redis.ConnectionString).DefaultTimeout();
        var channel = StackExchange.Redis.RedisChannel.Literal(_cluster.Prefix + ":cluster");
        var heard = 0;
        await redis.GetSubscriber().SubscribeAsync(channel, (_, _) => Interlocked.Increment(ref heard)).DefaultTimeout();

        var user = "heard-" + _tag;
        await Connect(2, HubRoutes.Chat, user);
        var response = await _cluster.Http(0).DeleteAsync($"/api/users/{user}/connections"); // the HTTP client gives up after 15 s
        Assert.Equal(1, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("closed").GetInt32());
        Assert.Equal(HttpStatusCode.NotFound, (await _cluster.Http(1).DeleteAsync($"/api/connections/unheard-{_tag}")).StatusCode);
        await TestTimeouts.Eventually(() => Volatile.Read(ref heard) >= 2, "the listener received both closes");
    }

    [Fact]
    public async Task APublishRepeatedOnAnotherProcessIsAcknowledgedOnceAndDeliveredOnce()
    {
        var group = "idem-" + _tag;
        var subscriber = await Connect(2, HubRoutes.Chat, "watcher-" + _tag);
        var log = Events.On<GroupEnvelope>(subscriber, ClientEvents.ReceiveGroupMessage);
        await subscriber.InvokeAsync<SubscribeResult>(HubMethods.Subscribe, group, new SubscribeRequest()).DefaultTimeout();

        var first = await (await _cluster.Http(0).PostAsJsonAsync($"/api/groups/{group}/messages", new PublishRequest { Id = "order-42", Message = "paid" }))
            .Content.ReadFromJsonAsync<PublishResult>();
        var again = await (await _cluster.Http(1).PostAsJsonAsync($"/api/groups/{group}/messages", new PublishRequest { Id = "order-42", Message = "paid" }))
            .Content.ReadFromJsonAsync<PublishResult>();
        Assert.False(first!.Duplicate);
        Assert.True(again!.Duplicate);
        Assert.Equal((first.Offset, first.Epoch), (again.Offset, again.Epoch));

        (await _cluster.Http(1).PostAsJsonAsync($"/api/groups/{group}/messages", new PublishRequest { Message = "next" })).EnsureSuccessStatusCode();
        Assert.Equal("paid", (await log.NextAsync()).Payload);
        Assert.Equal("next", (await log.NextAsync()).Payload); // "paid" came once
    }

    [Fact]
    public async Task PublishersOnTwoProcessesShareOneSequenceAndTheClientDeliversItInOrder()
    {
        var group = "busy-" + _tag;
        await using var client = _cluster.Client(_cluster.Nodes[2].BaseUrl, "reader-" + _tag);
        var received = new List<long>();
        var all = new TaskCompletionSource();
        client.MessageReceived += envelope =>
        {
            lock (received)
            {
                received.Add(envelope.Offset);
                if (received.Count == 400) all.TrySetResult();
            }
        };
        await client.StartAsync().DefaultTimeout();
        await client.SubscribeAsync(group).DefaultTimeout();

        var writers = new[] { 0, 1 }.Select(async node =>
        {
            var publisher = await Connect(node, HubRoutes.Chat, $"w{node}-{_tag}");
            var offsets = new List<long>();
            for (var i = 0; i < 200; i++)
            {
                offsets.Add((await publisher.InvokeAsync<PublishResult>(HubMethods.Publish, group, new PublishRequest { Message = $"{node}:{i}" })).Offset);
            }
            return offsets;
        });
        var acknowledged = (await Task.WhenAll(writers).DefaultTimeout()).SelectMany(o => o).Order().ToList();
        Assert.Equal(Enumerable.Range(1, 400).Select(i => (long)i), acknowledged); // one sequence, no offset twice, no gap

        await all.Task.DefaultTimeout();
        lock (received) Assert.Equal(Enumerable.Range(1, 400).Select(i => (long)i), received);
    }
}
