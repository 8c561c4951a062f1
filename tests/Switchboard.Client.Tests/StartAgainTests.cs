using System.Net;
using Microsoft.AspNetCore.SignalR.Client;
using Switchboard.Contracts;
using Switchboard.Server.Authentication;
using Switchboard.Server.Tests.Infrastructure;

namespace Switchboard.Client.Tests;

/// <summary>
/// A client whose connection closed for good (closed by the server, or stopped by the
/// application) keeps its groups: started again, it subscribes them from where it was and
/// delivers what it missed meanwhile, in order, each once, before anything newer.
/// </summary>
public sealed class StartAgainTests(SwitchboardFactory server) : IClassFixture<SwitchboardFactory>
{
    private static string NewGroup() => "sa-" + Guid.NewGuid().ToString("N")[..12];

    private SwitchboardClient Client(string user) => new(new SwitchboardClientOptions
    {
        Url = new Uri(server.BaseUrl + HubRoutes.Chat),
        AccessTokenProvider = () => Task.FromResult<string?>(server.Token(user)),
        ReconnectDelays = [TimeSpan.Zero, TimeSpan.FromMilliseconds(100)],
    });

    /// <summary>Completes when <paramref name="group"/>'s <paramref name="offset"/> is delivered.</summary>
    private static Task DeliveredAsync(SwitchboardClient client, string group, long offset)
    {
        var delivered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        client.MessageReceived += e => { if (e.Group == group && e.Offset >= offset) delivered.TrySetResult(); };
        return delivered.Task;
    }

    /// <summary>Records, per group, delivered offsets and recovery failures ("lost after n"), and losses.</summary>
    private static (Dictionary<string, List<string>> Events, List<SubscriptionLoss> Lost) Record(SwitchboardClient client)
    {
        var events = new Dictionary<string, List<string>>();
        var lost = new List<SubscriptionLoss>();
        void Add(string group, string what)
        {
            lock (events)
            {
                if (!events.TryGetValue(group, out var list)) events[group] = list = [];
                list.Add(what);
            }
        }
        client.MessageReceived += e => Add(e.Group, e.Offset.ToString());
        client.RecoveryFailed += f => Add(f.Group, $"lost after {f.LastOffset}");
        client.SubscriptionLost += loss => { lock (lost) lost.Add(loss); };
        return (events, lost);
    }

    private static async Task WaitAsync(Task task, Dictionary<string, List<string>> events, string what)
    {
        try
        {
            await task.DefaultTimeout();
        }
        catch (TimeoutException)
        {
            lock (events)
            {
                Assert.Fail($"Timed out waiting for {what}; delivered so far: " +
                    string.Join("; ", events.Select(kv => $"{kv.Key}: [{string.Join(", ", kv.Value)}]")));
            }
        }
    }

    [Fact]
    public async Task AClientWhoseConnectionTheServerClosedIsStartedAgainAndDeliversWhatItMissedInOrderOnceThenLive()
    {
        var group = NewGroup();
        var other = NewGroup();
        await using var client = Client("closed-by-server");
        var (events, lost) = Record(client);
        var closed = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        client.Closed += e => closed.TrySetResult(e);
        var resubscribed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var resubscribedCount = 0;
        client.Resubscribed += () => { Interlocked.Increment(ref resubscribedCount); resubscribed.TrySetResult(); };
        var reconnecting = false;
        client.Reconnecting += _ => reconnecting = true;
        await client.StartAsync().DefaultTimeout();
        var subscribed = await client.SubscribeAsync(group).DefaultTimeout();
        await client.SubscribeAsync(other, presence: true).DefaultTimeout();
        await using var publisher = await server.ConnectAsync(HubRoutes.Chat, server.Token("writer"));
        var third = DeliveredAsync(client, group, 3);
        await GapScenario.PublishAsync(publisher, group, 1, 3);
        await WaitAsync(third, events, "1..3");

        using (var admin = server.Http(server.Token("ops", roles: [Roles.Admin])))
        {
            // By user: the client skips negotiation, so it does not know its connection's id.
            var response = await admin.DeleteAsync("/api/users/closed-by-server/connections?reason=start-again").DefaultTimeout();
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        Assert.Contains("disconnected: start-again", (await closed.Task.DefaultTimeout())?.Message);
        Assert.Equal(HubConnectionState.Disconnected, client.Connection.State);
        Assert.False(reconnecting); // closed for good: only a start brings it back

        // Missed while closed: 4..8 of the group, 1..2 of the other.
        await GapScenario.PublishAsync(publisher, group, 4, 8);
        await GapScenario.PublishAsync(publisher, other, 1, 2);
        var twelfth = DeliveredAsync(client, group, 12);
        var otherThird = DeliveredAsync(client, other, 3);
        await client.StartAsync().DefaultTimeout();
        // Published at once: these may reach the server before the client's Subscribe (then they
        // come in its answer) or after it (then they are live, and wait behind what it missed).
        await GapScenario.PublishAsync(publisher, group, 9, 10);
        await WaitAsync(resubscribed.Task, events, "Resubscribed");
        await GapScenario.PublishAsync(publisher, group, 11, 12); // live, after the resubscribe
        await GapScenario.PublishAsync(publisher, other, 3, 3);
        await WaitAsync(Task.WhenAll(twelfth, otherThird), events, "12 and the other group's 3");

        lock (events)
        {
            Assert.Equal(GapScenario.Offsets(1, 12), events[group]);
            Assert.Equal(GapScenario.Offsets(1, 3), events[other]);
        }
        lock (lost) Assert.Empty(lost);
        Assert.Equal(1, Volatile.Read(ref resubscribedCount));
        Assert.Equal((12L, subscribed.Epoch), client.PositionOf(group));
    }

    [Fact]
    public async Task AClientStoppedAndStartedAgainFollowsItsGroupsFromWhereItWasAndAGroupUnsubscribedMeanwhileIsNotFollowed()
    {
        var kept = NewGroup();
        var dropped = NewGroup();
        await using var client = Client("stopped-by-app");
        var (events, lost) = Record(client);
        var resubscribed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        client.Resubscribed += () => resubscribed.TrySetResult();
        await client.StartAsync().DefaultTimeout();
        await client.SubscribeAsync(kept).DefaultTimeout();
        await client.SubscribeAsync(dropped).DefaultTimeout();
        await using var publisher = await server.ConnectAsync(HubRoutes.Chat, server.Token("writer"));
        var first = Task.WhenAll(DeliveredAsync(client, kept, 1), DeliveredAsync(client, dropped, 1));
        await GapScenario.PublishAsync(publisher, kept, 1, 1);
        await GapScenario.PublishAsync(publisher, dropped, 1, 1);
        await WaitAsync(first, events, "1 of both groups");

        await client.StopAsync().DefaultTimeout();
        // While stopped: unsubscribing ends the group at once (there is no subscription on the
        // server to end), and the other group's messages are missed.
        await client.UnsubscribeAsync(dropped).DefaultTimeout();
        Assert.Null(client.PositionOf(dropped));
        await GapScenario.PublishAsync(publisher, kept, 2, 4);
        await GapScenario.PublishAsync(publisher, dropped, 2, 2);

        // Envelopes as they come off the connection, before the client looks at them: the
        // unsubscribed group must not be subscribed on the new connection.
        var raw = new List<string>();
        using var _ = client.Connection.On<GroupEnvelope>(ClientEvents.ReceiveGroupMessage, e => { lock (raw) raw.Add($"{e.Group}:{e.Offset}"); });
        var fifth = DeliveredAsync(client, kept, 5);
        await client.StartAsync().DefaultTimeout();
        await WaitAsync(resubscribed.Task, events, "Resubscribed");
        // Published in this order by one connection to one server: had the dropped group been
        // subscribed again, its 3 would reach the client before the kept group's 5.
        await GapScenario.PublishAsync(publisher, dropped, 3, 3);
        await GapScenario.PublishAsync(publisher, kept, 5, 5);
        await WaitAsync(fifth, events, "5");

        lock (events)
        {
            Assert.Equal(GapScenario.Offsets(1, 5), events[kept]);
            Assert.Equal(["1"], events[dropped]);
        }
        lock (raw) Assert.DoesNotContain(raw, r => r.StartsWith(dropped + ":", StringComparison.Ordinal));
        lock (lost) Assert.Empty(lost);
        Assert.Null(client.PositionOf(dropped));
    }

    [Fact]
    public async Task ADisposedClientFollowsNothing()
    {
        var group = NewGroup();
        var client = Client("disposed");
        await client.StartAsync().DefaultTimeout();
        await client.SubscribeAsync(group).DefaultTimeout();
        Assert.NotNull(client.PositionOf(group));

        await client.DisposeAsync();

        Assert.Null(client.PositionOf(group));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => client.StartAsync()).DefaultTimeout();
    }
}

/// <summary>A start's resubscribe that cannot recover what was missed says so, as a reconnect's does.</summary>
public sealed class StartAgainTrimmedTests(Switchboard.Server.Tests.ShortHistoryServer server) : IClassFixture<Switchboard.Server.Tests.ShortHistoryServer>
{
    [Fact]
    public async Task MessagesTrimmedWhileTheConnectionWasClosedAreReportedAndTheClientContinuesFromNow()
    {
        var group = "sat-" + Guid.NewGuid().ToString("N")[..8];
        await using var client = new SwitchboardClient(new SwitchboardClientOptions
        {
            Url = new Uri(server.BaseUrl + HubRoutes.Chat),
            AccessTokenProvider = () => Task.FromResult<string?>(server.Token("trimmed-while-closed")),
            ReconnectDelays = [TimeSpan.Zero, TimeSpan.FromMilliseconds(100)],
        });
        var failed = new TaskCompletionSource<RecoveryFailure>(TaskCreationOptions.RunContinuationsAsynchronously);
        client.RecoveryFailed += f => failed.TrySetResult(f);
        var received = new List<long>();
        var last = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        client.MessageReceived += e => { lock (received) received.Add(e.Offset); if (e.Offset == 31) last.TrySetResult(); };
        var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        client.Closed += _ => closed.TrySetResult();
        await client.StartAsync().DefaultTimeout();
        var first = await client.SubscribeAsync(group).DefaultTimeout();
        using (var admin = server.Http(server.Token("ops", roles: [Roles.Admin])))
        {
            var response = await admin.DeleteAsync("/api/users/trimmed-while-closed/connections").DefaultTimeout();
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        await closed.Task.DefaultTimeout();

        await using var publisher = await server.ConnectAsync(HubRoutes.Chat, server.Token("writer"));
        await GapScenario.PublishAsync(publisher, group, 1, 30);
        await server.Get<Switchboard.Core.History.IHistoryStore>().TrimAsync().AsTask().DefaultTimeout(); // keeps 21..30 only
        await client.StartAsync().DefaultTimeout();
        var failure = await failed.Task.DefaultTimeout();
        await GapScenario.PublishAsync(publisher, group, 31, 31);
        await last.Task.DefaultTimeout();

        Assert.Equal((group, 0L, first.Epoch, first.Epoch), (failure.Group, failure.LastOffset, failure.LastEpoch, failure.CurrentEpoch));
        lock (received) Assert.Equal([31L], received); // nothing from the lost stretch, nothing twice
    }
}
