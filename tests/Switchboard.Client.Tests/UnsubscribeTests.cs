using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Switchboard.Contracts;
using Switchboard.Core.Presence;
using Switchboard.Server.Tests.Infrastructure;

namespace Switchboard.Client.Tests;

/// <summary>An unsubscribe whose connection drops while the server handles it.</summary>
public sealed class UnsubscribeTests
{
    [Fact]
    public async Task AnUnsubscribeWhoseConnectionDropsDuringTheCallCompletesAndTheGroupStaysEnded()
    {
        var store = new HeldPresenceStore(new InMemoryPresenceStore(TimeProvider.System));
        await using var server = new SwitchboardFactory
        {
            TestServices = services => services.Replace(ServiceDescriptor.Singleton<IPresenceStore>(store)),
        };
        await using var proxy = new TcpProxy(new Uri(server.BaseUrl));
        await using var client = new SwitchboardClient(new SwitchboardClientOptions
        {
            Url = new Uri(proxy.BaseUrl + HubRoutes.Chat),
            AccessTokenProvider = () => Task.FromResult<string?>(server.Token("una", "Una")),
            // Attempts keep failing while the proxy refuses, and must not run out meanwhile.
            ReconnectDelays = [.. Enumerable.Repeat(TimeSpan.FromMilliseconds(50), 200)],
        });
        var ended = "ended-" + Guid.NewGuid().ToString("N")[..8];
        var kept = "kept-" + Guid.NewGuid().ToString("N")[..8];
        var received = new List<GroupEnvelope>();
        var keptArrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        client.MessageReceived += e =>
        {
            lock (received) received.Add(e);
            if (e.Group == kept) keptArrived.TrySetResult();
        };
        var resubscribed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        client.Resubscribed += () => resubscribed.TrySetResult();
        await client.StartAsync().DefaultTimeout();
        await client.SubscribeAsync(ended).DefaultTimeout();
        await client.SubscribeAsync(kept).DefaultTimeout();

        // The server is inside Unsubscribe (its presence leave is held) when the connection drops.
        var hold = store.HoldNextLeave();
        var unsubscribe = client.UnsubscribeAsync(ended);
        await hold.Made.DefaultTimeout();
        proxy.Refusing = true; // no new connection until the call has failed
        proxy.CutAll();
        await unsubscribe.DefaultTimeout(); // completes: it used to throw the dropped connection's error
        hold.Release();
        proxy.Refusing = false;
        await resubscribed.Task.DefaultTimeout();

        // Reconnected: the kept group is followed again, the ended one is not.
        await using var publisher = await server.ConnectAsync(HubRoutes.Chat, server.Token("writer"));
        await publisher.InvokeAsync<PublishResult>(HubMethods.Publish, ended, new PublishRequest { Message = "not for una" }).DefaultTimeout();
        await publisher.InvokeAsync<PublishResult>(HubMethods.Publish, kept, new PublishRequest { Message = "for una" }).DefaultTimeout();
        await keptArrived.Task.DefaultTimeout();
        lock (received) Assert.DoesNotContain(received, e => e.Group == ended);
        Assert.Null(client.PositionOf(ended));
    }
}
