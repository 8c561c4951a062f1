using System.Text.Json;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Switchboard.Contracts;
using Switchboard.Core.Presence;
using Switchboard.Server.Tests.Infrastructure;

namespace Switchboard.Server.Tests;

/// <summary>Lifecycle webhooks to a real receiver on 127.0.0.1: what is sent, signed how, and retried.</summary>
public sealed class WebhookTests
{
    private static Dictionary<string, string?> Settings(WebhookReceiver receiver, Dictionary<string, string?>? more = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Switchboard:Webhooks:Url"] = receiver.Url,
            ["Switchboard:Webhooks:Secret"] = WebhookReceiver.Secret,
            ["Switchboard:Webhooks:RetryDelay"] = "00:00:00.050",
        };
        foreach (var (key, value) in more ?? []) settings[key] = value;
        return settings;
    }

    private static ReceivedEvent Added(string group, string user, string name) => new("member_added", group, user, name);
    private static ReceivedEvent Removed(string group, string user, string name) => new("member_removed", group, user, name);

    [Fact]
    public async Task JoiningAndLeavingAGroupSendsMemberAndOccupancyEventsOncePerUserTransitionSigned()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var server = new SwitchboardFactory(Settings(receiver));
        const string group = "hooked";

        await using var amyPhone = await server.ConnectAsync(HubRoutes.Chat, server.Token("amy", "Amy"));
        await using var amyLaptop = await server.ConnectAsync(HubRoutes.Chat, server.Token("amy", "Amy"));
        await using var ben = await server.ConnectAsync(HubRoutes.Chat, server.Token("ben", "Ben"));

        await amyPhone.InvokeAsync("JoinGroup", group).DefaultTimeout();
        Assert.Equal([new ReceivedEvent("channel_occupied", group), Added(group, "amy", "Amy")], await receiver.NextAsync(2));

        // Amy's second connection joining is no transition: the next event is Ben's (subscribing counts as joining).
        await amyLaptop.InvokeAsync("JoinGroup", group).DefaultTimeout();
        await ben.InvokeAsync<SubscribeResult>("Subscribe", group, null).DefaultTimeout();
        Assert.Equal(Added(group, "ben", "Ben"), await receiver.NextAsync());

        // Amy leaves on one connection (still a member), then closes the other: removed once.
        await amyPhone.InvokeAsync("LeaveGroup", group).DefaultTimeout();
        await amyLaptop.StopAsync().DefaultTimeout();
        Assert.Equal(Removed(group, "amy", "Amy"), await receiver.NextAsync());

        await ben.InvokeAsync("LeaveGroup", group).DefaultTimeout();
        Assert.Equal([Removed(group, "ben", "Ben"), new ReceivedEvent("channel_vacated", group)], await receiver.NextAsync(2));
        Assert.Empty(receiver.Drain());

        // Every POST was signed with the secret over its exact body, as JSON with its time and id in the headers too.
        Assert.Equal(0, receiver.Unverified);
        Assert.NotEmpty(receiver.Requests);
        foreach (var request in receiver.Requests)
        {
            Assert.True(WebhookReceiver.Verify(request.Body, request.Signature));
            Assert.False(WebhookReceiver.Verify(request.Body, request.Signature, secret: WebhookReceiver.Secret + "x"));
            Assert.StartsWith("application/json", request.ContentType);
            using var json = JsonDocument.Parse(request.Body);
            Assert.Equal(json.RootElement.GetProperty("time_ms").GetInt64().ToString(System.Globalization.CultureInfo.InvariantCulture), request.Timestamp);
            Assert.Equal(json.RootElement.GetProperty("id").GetString(), request.Delivery);
            Assert.InRange(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - json.RootElement.GetProperty("time_ms").GetInt64(), 0, 60_000);
        }
    }

    /// <summary>
    /// What a backend makes of the events it got, as docs/webhooks.md says to read them: per
    /// group, ordered by seq, each user's last member event says whether they are in, and the
    /// last channel event whether the group is occupied.
    /// </summary>
    private static (List<string> Members, bool Occupied) View(IEnumerable<ReceivedEvent> events, string group)
    {
        var members = new SortedSet<string>(StringComparer.Ordinal);
        var occupied = false;
        foreach (var e in WebhookReceiver.Sequenced(events).Where(e => e.Group == group))
        {
            switch (e.Name)
            {
                case "member_added": members.Add(e.UserId!); break;
                case "member_removed": members.Remove(e.UserId!); break;
                case "channel_occupied": occupied = true; break;
                case "channel_vacated": occupied = false; break;
            }
        }
        return ([.. members], occupied);
    }

    [Fact]
    public async Task EventsThatArriveInTheOtherOrderThanTheStoreMadeThemArePutBackInOrderBySeq()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var store = new HeldPresenceStore(new InMemoryPresenceStore(TimeProvider.System));
        await using var server = new SwitchboardFactory(Settings(receiver))
        {
            TestServices = services => services.Replace(ServiceDescriptor.Singleton<IPresenceStore>(store)),
        };
        const string group = "raced";
        await using var tabA = await server.ConnectAsync(HubRoutes.Chat, server.Token("amy", "Amy"));
        await using var tabB = await server.ConnectAsync(HubRoutes.Chat, server.Token("amy", "Amy"));

        await tabA.InvokeAsync("JoinGroup", group).DefaultTimeout();
        var first = await receiver.NextAsync(2);

        // Tab A leaves: the store removes Amy (the group is empty), and before that reaches the
        // webhook queue, tab B joins: the store adds her back, and that is queued and sent first.
        var hold = store.HoldNextLeave();
        var leaving = tabA.InvokeAsync("LeaveGroup", group);
        await hold.Made.DefaultTimeout();
        await tabB.InvokeAsync("JoinGroup", group).DefaultTimeout();
        var rejoined = await receiver.NextAsync(2);
        hold.Release();
        await leaving.DefaultTimeout();
        var removed = await receiver.NextAsync(2);
        List<ReceivedEvent> arrived = [.. first, .. rejoined, .. removed];

        // In the order they arrived, Amy left last and the group is empty; the store says otherwise.
        ReceivedEvent occupied = new("channel_occupied", group), vacated = new("channel_vacated", group);
        ReceivedEvent added = Added(group, "amy", "Amy"), gone = Removed(group, "amy", "Amy");
        Assert.Equal([occupied, added, occupied, added, gone, vacated], arrived);
        Assert.Equal(["amy"], (await store.GetGroupAsync(group)).Members.Select(m => m.UserId));

        // Every event carries its transition's seq (a member event and its channel event share it),
        // increasing in the order the store made the transitions: join, leave, join.
        Assert.All(arrived, e => Assert.NotNull(e.Seq));
        Assert.Equal(first[0].Seq, first[1].Seq);
        Assert.Equal(rejoined[0].Seq, rejoined[1].Seq);
        Assert.Equal(removed[0].Seq, removed[1].Seq);
        Assert.True(first[0].Seq < removed[0].Seq && removed[0].Seq < rejoined[0].Seq,
            $"join {first[0].Seq}, leave {removed[0].Seq}, join again {rejoined[0].Seq}");

        // Ordered by seq, the receiver's view is the store's: Amy is in, the group occupied.
        Assert.Equal([occupied, added, gone, vacated, occupied, added], WebhookReceiver.Sequenced(arrived));
        var view = View(arrived, group);
        Assert.Equal(["amy"], view.Members);
        Assert.True(view.Occupied);
    }

    [Fact]
    public async Task ABatchRefusedWithA500IsSentAgainUnchangedUntilAcceptedAndNothingIsLost()
    {
        await using var receiver = await WebhookReceiver.StartAsync(500, 503);
        await using var server = new SwitchboardFactory(Settings(receiver));

        await using var amy = await server.ConnectAsync(HubRoutes.Chat, server.Token("amy", "Amy"));
        await amy.InvokeAsync("JoinGroup", "retried").DefaultTimeout();

        Assert.Equal([new ReceivedEvent("channel_occupied", "retried"), Added("retried", "amy", "Amy")], await receiver.NextAsync(2));
        var requests = receiver.Requests.ToArray();
        Assert.Equal([500, 503, 200], requests.Select(r => r.Status));
        // The same batch each time: same body, so same id and signature (a receiver can drop a repeat by its id).
        Assert.All(requests, r => Assert.Equal(requests[0].Body, r.Body));
        Assert.All(requests, r => Assert.Equal(requests[0].Signature, r.Signature));

        // Later events still flow, after the retried batch.
        await amy.InvokeAsync("LeaveGroup", "retried").DefaultTimeout();
        Assert.Equal([Removed("retried", "amy", "Amy"), new ReceivedEvent("channel_vacated", "retried")], await receiver.NextAsync(2));
        await TestTimeouts.Eventually(() => server.Logs.Any(l => l.Contains("was not accepted on attempt 2 of 5 (HTTP 503)", StringComparison.Ordinal)),
            "the retry was logged");
    }

    [Fact]
    public async Task ABatchRefusedOnEveryAttemptIsGivenUpAndTheNextOneIsSent()
    {
        await using var receiver = await WebhookReceiver.StartAsync(500, 500);
        await using var server = new SwitchboardFactory(Settings(receiver, new() { ["Switchboard:Webhooks:MaxAttempts"] = "2" }));

        await using var amy = await server.ConnectAsync(HubRoutes.Chat, server.Token("amy", "Amy"));
        await amy.InvokeAsync("JoinGroup", "lost").DefaultTimeout();
        await TestTimeouts.Eventually(() => server.Logs.Any(l => l.Contains("was given up after 2 attempts (HTTP 500)", StringComparison.Ordinal)),
            "the batch was given up");

        await amy.InvokeAsync("LeaveGroup", "lost").DefaultTimeout();
        Assert.Equal([Removed("lost", "amy", "Amy"), new ReceivedEvent("channel_vacated", "lost")], await receiver.NextAsync(2));
        Assert.Equal([500, 500, 200], receiver.Requests.Select(r => r.Status));
    }

    [Fact]
    public async Task AReceiverThatDoesNotAnswerWithinTheTimeoutIsSentTheSameBatchAgain()
    {
        await using var receiver = await WebhookReceiver.StartAsync(WebhookReceiver.NoAnswer);
        await using var server = new SwitchboardFactory(Settings(receiver, new() { ["Switchboard:Webhooks:Timeout"] = "00:00:00.200" }));

        await using var amy = await server.ConnectAsync(HubRoutes.Chat, server.Token("amy", "Amy"));
        await amy.InvokeAsync("JoinGroup", "slow").DefaultTimeout();

        Assert.Equal([new ReceivedEvent("channel_occupied", "slow"), Added("slow", "amy", "Amy")], await receiver.NextAsync(2));
        var requests = receiver.Requests.ToArray();
        Assert.Equal([WebhookReceiver.NoAnswer, 200], requests.Select(r => r.Status));
        Assert.Equal(requests[0].Body, requests[1].Body);
        Assert.Equal(requests[0].Delivery, requests[1].Delivery);
        await TestTimeouts.Eventually(() => server.Logs.Any(l => l.Contains("[1301]", StringComparison.Ordinal)
            && l.Contains("was not accepted on attempt 1 of 5 (no answer within 00:00:00.2000000)", StringComparison.Ordinal)), "the timed-out attempt was logged");
        var metrics = PrometheusText.Parse(await server.Http().GetStringAsync("/metrics").DefaultTimeout());
        Assert.Equal(1, metrics[PrometheusText.Series("switchboard_webhook_requests_total", "outcome", "failed")]);
        Assert.Equal(2, metrics[PrometheusText.Series("switchboard_webhook_events_total", "outcome", "sent")]);
    }

    [Fact]
    public async Task WhenTheQueueIsFullTheOldestTransitionsAreDroppedCountedAndLoggedAndLaterOnesStillArrive()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var server = new SwitchboardFactory(Settings(receiver, new()
        {
            ["Switchboard:Webhooks:MaxQueue"] = "2",
            ["Switchboard:Webhooks:Timeout"] = "00:01:00", // the stalled POST is released by the test, not timed out
        }));
        await using var amy = await server.ConnectAsync(HubRoutes.Chat, server.Token("amy", "Amy"));

        // The receiver stalls: the sender holds the first transition's POST, and the queue fills behind it.
        receiver.Stall();
        await amy.InvokeAsync("JoinGroup", "q0").DefaultTimeout();
        await TestTimeouts.Eventually(() => !receiver.Requests.IsEmpty, "the first batch was POSTed");
        foreach (var group in new[] { "q1", "q2", "q3", "q4", "q5" })
        {
            await amy.InvokeAsync("JoinGroup", group).DefaultTimeout(); // queued at once: the join does not wait for the sender
        }

        // Two transitions fit; q1, q2 and q3 (two events each) were dropped, oldest first.
        var metrics = PrometheusText.Parse(await server.Http().GetStringAsync("/metrics").DefaultTimeout());
        Assert.Equal(6, metrics[PrometheusText.Series("switchboard_webhook_events_total", "outcome", "dropped")]);

        receiver.Release();
        List<ReceivedEvent> Joined(string group) => [new("channel_occupied", group), Added(group, "amy", "Amy")];
        Assert.Equal([.. Joined("q0"), .. Joined("q4"), .. Joined("q5")], await receiver.NextAsync(6));
        await TestTimeouts.Eventually(() => server.Logs.Any(l => l.StartsWith("Warning", StringComparison.Ordinal) && l.Contains("[1303]", StringComparison.Ordinal)
            && l.Contains("6 webhook events were dropped", StringComparison.Ordinal)), "the drop was logged");

        // Later transitions still arrive.
        await amy.InvokeAsync("LeaveGroup", "q1").DefaultTimeout();
        await amy.InvokeAsync("LeaveGroup", "q0").DefaultTimeout();
        Assert.Equal([new ReceivedEvent("member_removed", "q1", "amy", "Amy"), new ReceivedEvent("channel_vacated", "q1"),
            Removed("q0", "amy", "Amy"), new ReceivedEvent("channel_vacated", "q0")], await receiver.NextAsync(4));
        Assert.Empty(receiver.Drain());
    }

    [Fact]
    public async Task OnlyTheEventsAskedForAreSent()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var server = new SwitchboardFactory(Settings(receiver, new()
        {
            ["Switchboard:Webhooks:Events:0"] = "channel_occupied",
            ["Switchboard:Webhooks:Events:1"] = "channel_vacated",
        }));

        await using var amy = await server.ConnectAsync(HubRoutes.Chat, server.Token("amy", "Amy"));
        await amy.InvokeAsync("JoinGroup", "quiet").DefaultTimeout();
        await amy.InvokeAsync("LeaveGroup", "quiet").DefaultTimeout();

        Assert.Equal([new ReceivedEvent("channel_occupied", "quiet"), new ReceivedEvent("channel_vacated", "quiet")], await receiver.NextAsync(2));
    }

    [Fact]
    public async Task AServerStoppingCleanlySendsTheRemovalsOfItsClosingConnectionsBeforeItExits()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var server = new SwitchboardFactory(Settings(receiver));
        await using var amy = await server.ConnectAsync(HubRoutes.Chat, server.Token("amy", "Amy"));
        await amy.InvokeAsync("JoinGroup", "stopping").DefaultTimeout();
        Assert.Equal([new ReceivedEvent("channel_occupied", "stopping"), Added("stopping", "amy", "Amy")], await receiver.NextAsync(2));

        // Kestrel closes the connections first; the sender stops after, sending what they queued.
        await server.DisposeAsync().AsTask().DefaultTimeout();
        // At least once: a batch may come twice, with the same delivery id; each counts once.
        var accepted = receiver.Requests.Where(r => r.Status is >= 200 and < 300).DistinctBy(r => r.Delivery)
            .SelectMany(r => WebhookReceiver.Events(r.Body)).ToList();
        Assert.Equal([new ReceivedEvent("channel_occupied", "stopping"), Added("stopping", "amy", "Amy"),
            Removed("stopping", "amy", "Amy"), new ReceivedEvent("channel_vacated", "stopping")], accepted);
    }
}
