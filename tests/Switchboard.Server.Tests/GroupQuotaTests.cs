using System.Net.Http.Json;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Switchboard.Contracts;
using Switchboard.Server.Tests.Infrastructure;

namespace Switchboard.Server.Tests;

/// <summary>A server allowing 3 groups per connection.</summary>
public sealed class SmallQuotaServer() : SwitchboardFactoryWith(new() { ["Switchboard:Limits:MaxGroupsPerConnection"] = "3" });

public sealed class GroupQuotaTests(SmallQuotaServer server) : IClassFixture<SmallQuotaServer>
{
    [Theory]
    [InlineData(HubRoutes.Chat)]
    [InlineData(HubRoutes.Notifications)]
    public async Task AConnectionMayJoinOnlySoManyGroups(string hub)
    {
        await using var client = await server.ConnectAsync(hub, server.Token("quinn"));
        foreach (var group in new[] { "q1", "q2", "q3", "q3" }) // joining q3 again costs nothing
        {
            await client.InvokeAsync(HubMethods.JoinGroup, group).DefaultTimeout();
        }

        var refused = await Assert.ThrowsAsync<HubException>(() => client.InvokeAsync(HubMethods.JoinGroup, "q4").DefaultTimeout());
        await client.InvokeAsync(HubMethods.LeaveGroup, "q1").DefaultTimeout();
        await client.InvokeAsync(HubMethods.JoinGroup, "q4").DefaultTimeout();

        Assert.Contains(ErrorCodes.TooManyGroups + ": A connection may be in at most 3 groups", refused.Message);
    }

    [Fact]
    public async Task SubscribingCountsTooAndServerAppliedMembershipsAreNeverRefused()
    {
        await using var client = await server.ConnectAsync(HubRoutes.Chat, server.Token("rae"));
        for (var i = 1; i <= 3; i++)
            await client.InvokeAsync<SubscribeResult>(HubMethods.Subscribe, $"s{i}", new SubscribeRequest()).DefaultTimeout();
        await Assert.ThrowsAsync<HubException>(() => client.InvokeAsync<SubscribeResult>(HubMethods.Subscribe, "s4", new SubscribeRequest()).DefaultTimeout());

        using var http = server.Http(server.Token("ops", roles: ["Admin"]));
        var add = await http.PostAsync("/api/groups/team/users/rae", null).DefaultTimeout();
        var presence = await http.GetFromJsonAsync<GroupPresenceDto>("/api/groups/team/presence").DefaultTimeout();

        Assert.True(add.IsSuccessStatusCode);
        Assert.Equal(1, presence!.Connections);
    }
}
