using System.Net;
using System.Net.Http.Json;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Switchboard.Contracts;
using Switchboard.Server.Tests.Infrastructure;

namespace Switchboard.Server.Tests;

public sealed class PresenceTests(SwitchboardFactory server) : IClassFixture<SwitchboardFactory>
{
    private sealed record UserDetail(string UserId, bool Online, int Connections, DateTime? LastSeen, string[] Groups);

    private static string NewGroup() => "p-" + Guid.NewGuid().ToString("N")[..12];

    private HttpClient Admin() => server.Http(server.Token("ops", roles: ["Admin"]));

    [Fact]
    public async Task GroupPresenceListsMembersWithTheirConnectionCounts()
    {
        var group = NewGroup();
        await using var phone = await server.ConnectAsync(HubRoutes.Chat, server.Token("amy", "Amy"));
        await using var laptop = await server.ConnectAsync(HubRoutes.Chat, server.Token("amy", "Amy"));
        await using var ben = await server.ConnectAsync(HubRoutes.Chat, server.Token("ben", "Ben"));
        await phone.InvokeAsync(HubMethods.JoinGroup, group).DefaultTimeout();
        await laptop.InvokeAsync<SubscribeResult>(HubMethods.Subscribe, group, new SubscribeRequest()).DefaultTimeout();
        await ben.InvokeAsync(HubMethods.JoinGroup, group).DefaultTimeout();
        using var http = Admin();

        var presence = await http.GetFromJsonAsync<GroupPresenceDto>($"/api/groups/{group}/presence").DefaultTimeout();
        var fromHub = await ben.InvokeAsync<GroupPresenceDto>(HubMethods.GetPresence, group).DefaultTimeout();

        Assert.Equal((2, 3), (presence!.Users, presence.Connections));
        Assert.Equal([("amy", "Amy", 2), ("ben", "Ben", 1)], presence.Members.Select(m => (m.UserId, m.Name, m.Connections)));
        Assert.Equal((2, 3), (fromHub.Users, fromHub.Connections));
    }

    [Fact]
    public async Task OnlyMembersMaySeeAGroupsPresenceFromTheHub()
    {
        await using var outsider = await server.ConnectAsync(HubRoutes.Chat, server.Token("cat"));
        var error = await Assert.ThrowsAsync<HubException>(() => outsider.InvokeAsync<GroupPresenceDto>(HubMethods.GetPresence, NewGroup()).DefaultTimeout());
        Assert.Contains(ErrorCodes.PermissionDenied, error.Message);
    }

    [Fact]
    public async Task JoinAndLeaveEventsGoOncePerUserToThoseWhoAskedForThem()
    {
        var group = NewGroup();
        await using var watcher = server.Hub(HubRoutes.Chat, server.Token("dee"));
        await using var quiet = server.Hub(HubRoutes.Chat, server.Token("eva"));
        var joined = Events.On<PresenceEvent>(watcher, ClientEvents.PresenceJoined);
        var left = Events.On<PresenceEvent>(watcher, ClientEvents.PresenceLeft);
        var quietJoined = Events.On<PresenceEvent>(quiet, ClientEvents.PresenceJoined);
        await Task.WhenAll(watcher.StartedAsync(), quiet.StartedAsync()).DefaultTimeout();
        await watcher.InvokeAsync<SubscribeResult>(HubMethods.Subscribe, group, new SubscribeRequest { Presence = true }).DefaultTimeout();
        await quiet.InvokeAsync<SubscribeResult>(HubMethods.Subscribe, group, new SubscribeRequest()).DefaultTimeout();
        Assert.Equal("dee", (await joined.NextAsync()).UserId); // its own arrival
        Assert.Equal("eva", (await joined.NextAsync()).UserId);

        var first = await server.ConnectAsync(HubRoutes.Chat, server.Token("fin", "Fin"));
        var second = await server.ConnectAsync(HubRoutes.Chat, server.Token("fin", "Fin"));
        await first.InvokeAsync(HubMethods.JoinGroup, group).DefaultTimeout();
        await second.InvokeAsync(HubMethods.JoinGroup, group).DefaultTimeout();
        var arrival = await joined.NextAsync();
        await first.InvokeAsync(HubMethods.LeaveGroup, group).DefaultTimeout();
        await second.DisposeAsync(); // the last of fin's connections goes, by disconnecting
        var departure = await left.NextAsync();
        await first.DisposeAsync();

        Assert.Equal((group, "fin", "Fin"), (arrival.Group, arrival.UserId, arrival.Name));
        Assert.Equal((group, "fin"), (departure.Group, departure.UserId));
        Assert.Empty(joined.Drain()); // fin's second connection was not announced
        Assert.Empty(quietJoined.Drain());
    }

    [Fact]
    public async Task PresenceStaysExactUnderConcurrentJoinsAndLeaves()
    {
        var group = NewGroup();
        var clients = Enumerable.Range(0, 100).Select(i => server.Hub(HubRoutes.Chat, server.Token($"crowd{i % 10}"))).ToArray();
        await Task.WhenAll(clients.Select(c => c.StartedAsync())).DefaultTimeout();

        await Task.WhenAll(clients.Select(c => c.InvokeAsync(HubMethods.JoinGroup, group))).DefaultTimeout();
        using var http = Admin();
        var full = await http.GetFromJsonAsync<GroupPresenceDto>($"/api/groups/{group}/presence").DefaultTimeout();
        // Every connection of crowd0..crowd4 leaves (half by LeaveGroup, half by disconnecting) while the rest re-join.
        var leaving = clients.Where((_, i) => i % 10 < 5).ToArray();
        await Task.WhenAll(leaving.Select((c, i) => i % 2 == 0 ? c.InvokeAsync(HubMethods.LeaveGroup, group) : c.StopAsync())
            .Concat(clients.Where((_, i) => i % 10 >= 5).Select(c => c.InvokeAsync(HubMethods.JoinGroup, group)))).DefaultTimeout();
        var half = await http.GetFromJsonAsync<GroupPresenceDto>($"/api/groups/{group}/presence").DefaultTimeout();

        Assert.Equal((10, 100), (full!.Users, full.Connections));
        Assert.Equal((5, 50), (half!.Users, half.Connections));
        Assert.Equal(["crowd5", "crowd6", "crowd7", "crowd8", "crowd9"], half.Members.Select(m => m.UserId));
        Assert.All(half.Members, m => Assert.Equal(10, m.Connections));
        foreach (var c in clients) await c.DisposeAsync();
    }

    [Fact]
    public async Task UserPresenceShowsOnlineStateLastSeenAndGroups()
    {
        var group = NewGroup();
        using var http = Admin();
        var client = await server.ConnectAsync(HubRoutes.Chat, server.Token("gil"));
        await client.InvokeAsync(HubMethods.JoinGroup, group).DefaultTimeout();

        var online = await http.GetFromJsonAsync<UserDetail>("/api/users/gil/presence").DefaultTimeout();
        await client.DisposeAsync();
        await TestTimeouts.Eventually(() => !http.GetFromJsonAsync<UserDetail>("/api/users/gil/presence").Result!.Online, "gil is offline");
        var offline = await http.GetFromJsonAsync<UserDetail>("/api/users/gil/presence").DefaultTimeout();

        Assert.Equal((true, 1, (DateTime?)null), (online!.Online, online.Connections, online.LastSeen));
        Assert.Equal([group], online.Groups);
        Assert.False(offline!.Online);
        Assert.NotNull(offline.LastSeen);
        Assert.InRange(offline.LastSeen!.Value, DateTime.UtcNow.AddMinutes(-1), DateTime.UtcNow.AddSeconds(1));
        Assert.Empty(offline.Groups);
    }

    [Fact]
    public async Task UserLevelMembershipReachesPresentAndFutureConnectionsAndSurvivesReconnects()
    {
        var group = NewGroup();
        using var http = Admin();
        await using var sender = await server.ConnectAsync(HubRoutes.Chat, server.Token("hub-bot", "Bot"));
        await using var present = server.Hub(HubRoutes.Chat, server.Token("ivy"));
        var atPresent = Events.On<string, string>(present, ClientEvents.ReceiveMessage);
        var presence = server.Get<Core.Presence.IPresenceStore>();
        // A client's start completes with the handshake, before the server's OnConnectedAsync:
        // wait until the server has the connection, or the membership could race it.
        async Task Until(Func<Core.Presence.UserPresence, bool> condition, string what) =>
            await TestTimeouts.Eventually(() => condition(presence.GetUserAsync("ivy").AsTask().Result), what);
        await present.StartedAsync();
        await Until(p => p.Connections == 1, "ivy's first connection is known");

        var add = await http.PostAsync($"/api/groups/{group}/users/ivy", null).DefaultTimeout();
        await sender.InvokeAsync(HubMethods.SendMessageToGroup, group, "x", "one").DefaultTimeout();
        Assert.Equal(HttpStatusCode.OK, add.StatusCode);
        Assert.Equal(("Bot", "one"), await atPresent.NextAsync());

        // A connection opened later, without JoinGroup, is in the group too.
        await present.StopAsync().DefaultTimeout();
        await Until(p => p.Connections == 0, "ivy's first connection is gone");
        await using var future = server.Hub(HubRoutes.Chat, server.Token("ivy"));
        var atFuture = Events.On<string, string>(future, ClientEvents.ReceiveMessage);
        await future.StartedAsync();
        await Until(p => p.Connections == 1 && p.Groups.Contains(group), "ivy's new connection joined the group");
        await sender.InvokeAsync(HubMethods.SendMessageToGroup, group, "x", "two").DefaultTimeout();
        Assert.Equal(("Bot", "two"), await atFuture.NextAsync());

        var remove = await http.DeleteAsync($"/api/groups/{group}/users/ivy").DefaultTimeout();
        await sender.InvokeAsync(HubMethods.SendMessageToGroup, group, "x", "three").DefaultTimeout();
        await sender.InvokeAsync(HubMethods.SendMessage, "x", "broadcast").DefaultTimeout();
        Assert.Equal(HttpStatusCode.OK, remove.StatusCode);
        Assert.Equal(("Bot", "broadcast"), await atFuture.NextAsync()); // "three" never came
    }

    [Fact]
    public async Task MembershipRoutesCheckNamesAndRoles()
    {
        using var http = Admin();
        using var member = server.Http(server.Token("jay"));

        Assert.Equal(HttpStatusCode.BadRequest, (await http.PostAsync("/api/groups/user:jay/users/jay", null).DefaultTimeout()).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await http.PostAsync("/api/groups/ok/users/bad%20id", null).DefaultTimeout()).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await member.PostAsync("/api/groups/ok/users/jay", null).DefaultTimeout()).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await member.GetAsync("/api/users/jay/presence").DefaultTimeout()).StatusCode);
    }
}
