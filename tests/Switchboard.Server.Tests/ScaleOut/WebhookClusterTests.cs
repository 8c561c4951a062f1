using Microsoft.AspNetCore.SignalR.Client;
using Switchboard.Contracts;
using Switchboard.Server.Tests.Infrastructure;

namespace Switchboard.Server.Tests.ScaleOut;

/// <summary>Webhooks with two processes on one real Redis: each transition is sent once, by the process that saw it.</summary>
[Collection(ScaleOutCollection.Name)]
public sealed class WebhookClusterTests
{
    [Fact]
    public async Task AUserOnTwoProcessesIsAddedAndRemovedOnceClusterWide()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var cluster = await Cluster.StartAsync(nodes: 2, settings: new()
        {
            ["Switchboard__Webhooks__Url"] = receiver.Url,
            ["Switchboard__Webhooks__Secret"] = WebhookReceiver.Secret,
        });
        const string group = "spread";

        // Amy joins on both processes at once: one of them saw the transition, and only it sends.
        await using var amy0 = await cluster.ConnectAsync(0, HubRoutes.Chat, "amy", "Amy");
        await using var amy1 = await cluster.ConnectAsync(1, HubRoutes.Chat, "amy", "Amy");
        await Task.WhenAll(amy0.InvokeAsync("JoinGroup", group), amy1.InvokeAsync("JoinGroup", group)).DefaultTimeout();
        Assert.Equal([new ReceivedEvent("channel_occupied", group), new ReceivedEvent("member_added", group, "amy", "Amy")],
            await receiver.NextAsync(2));

        await using var ben = await cluster.ConnectAsync(1, HubRoutes.Chat, "ben", "Ben");
        await ben.InvokeAsync("JoinGroup", group).DefaultTimeout();
        Assert.Equal(new ReceivedEvent("member_added", group, "ben", "Ben"), await receiver.NextAsync());

        // Amy leaves on process 0 (still in on process 1), then closes there: removed once.
        await amy0.InvokeAsync("LeaveGroup", group).DefaultTimeout();
        await amy1.StopAsync().DefaultTimeout();
        Assert.Equal(new ReceivedEvent("member_removed", group, "amy", "Amy"), await receiver.NextAsync());

        await ben.StopAsync().DefaultTimeout();
        Assert.Equal([new ReceivedEvent("member_removed", group, "ben", "Ben"), new ReceivedEvent("channel_vacated", group)],
            await receiver.NextAsync(2));

        Assert.Empty(receiver.Drain()); // no second copy from the other process
        Assert.Equal(0, receiver.Unverified);
    }
}
