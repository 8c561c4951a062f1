using System.Text.Json;
using Microsoft.AspNetCore.SignalR.Client;
using Switchboard.Contracts;
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
        Assert.Equal([Removed("stopping", "amy", "Amy"), new ReceivedEvent("channel_vacated", "stopping")], receiver.Drain());
    }
}
