using Microsoft.AspNetCore.SignalR.Client;
using Switchboard.Contracts;
using Switchboard.Server.Tests.Infrastructure;

namespace Switchboard.Server.Tests;

public sealed class SmokeTests(SwitchboardFactory server) : IClassFixture<SwitchboardFactory>
{
    [Fact]
    public async Task SignedInClientReceivesItsOwnBroadcast()
    {
        await using var alice = server.Hub(HubRoutes.Chat, server.Token("alice", "Alice"));
        var received = Events.On<string, string>(alice, ClientEvents.ReceiveMessage);
        await alice.StartAsync().DefaultTimeout();

        await alice.InvokeAsync(HubMethods.SendMessage, "Mallory", "hello").DefaultTimeout();

        Assert.Equal(("Alice", "hello"), await received.NextAsync());
    }
}
