using System.Net.Http.Json;
using Microsoft.AspNetCore.SignalR.Client;
using Switchboard.Contracts;
using Switchboard.Server.Tests.Infrastructure;

namespace Switchboard.Server.Tests.ScaleOut;

/// <summary>
/// One connection's joins and leaves of one group, run side by side
/// (<c>SignalR:MaximumParallelInvocationsPerClient</c> above 1) with presence and groups in
/// Redis, where each step awaits a round trip: they take effect in the order the connection sent
/// them, so after the last one the connection's presence and its deliveries both say what that
/// last one did (docs/protocol.md, Order). In memory the steps never interleave, so only Redis
/// shows this.
/// </summary>
[Collection(ScaleOutCollection.Name)]
public sealed class InterleavedMembershipOverRedisTests
{
    private const int Rounds = 12;
    private const int StepsPerRound = 24;

    [Fact]
    public async Task InterleavedJoinsAndLeavesEndAsTheLastOneSent()
    {
        await using var cluster = await Cluster.StartAsync(nodes: 1, settings: new()
        {
            ["SignalR__MaximumParallelInvocationsPerClient"] = "8",
        });
        var group = "mix-" + Guid.NewGuid().ToString("N")[..8];
        await using var subject = await cluster.ConnectAsync(0, HubRoutes.Chat, "subject");
        var received = Events.On<string, string>(subject, ClientEvents.ReceiveMessage);
        await using var publisher = await cluster.ConnectAsync(0, HubRoutes.Chat, "publisher");
        using var http = cluster.Http(0);

        for (var round = 0; round < Rounds; round++)
        {
            // Join, leave, join, ...: an even round ends with a leave, an odd one with a join.
            var steps = StepsPerRound + round % 2;
            var sends = Enumerable.Range(0, steps)
                .Select(i => subject.InvokeAsync(i % 2 == 0 ? HubMethods.JoinGroup : HubMethods.LeaveGroup, group))
                .ToArray();
            await Task.WhenAll(sends).DefaultTimeout();
            var joined = steps % 2 == 1;

            var presence = await http.GetFromJsonAsync<GroupPresenceDto>($"/api/groups/{group}/presence").DefaultTimeout();
            Assert.True(presence!.Connections == (joined ? 1 : 0),
                $"round {round}: the last step was a {(joined ? "join" : "leave")}, but presence counts {presence.Connections} connection(s)");

            var probe = $"r{round}";
            await publisher.InvokeAsync(HubMethods.SendMessageToGroup, group, "publisher", probe).DefaultTimeout();
            if (!joined)
            {
                // Nothing may arrive for a connection that left; a join (one step, awaited) and a
                // second message show what did: one group's messages reach a connection in order.
                await subject.InvokeAsync(HubMethods.JoinGroup, group).DefaultTimeout();
                probe += "-after-join";
                await publisher.InvokeAsync(HubMethods.SendMessageToGroup, group, "publisher", probe).DefaultTimeout();
            }
            var (_, message) = await received.NextAsync();
            Assert.True(message == probe, $"round {round}: expected '{probe}' next, got '{message}'");
        }
    }
}
