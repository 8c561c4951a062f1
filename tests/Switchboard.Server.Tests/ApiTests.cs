using System.Net;
using System.Net.Http.Json;
using Microsoft.AspNetCore.SignalR.Client;
using Switchboard.Contracts;
using Switchboard.Server.Tests.Infrastructure;

namespace Switchboard.Server.Tests;

public sealed class ApiTests(SwitchboardFactory server) : IClassFixture<SwitchboardFactory>
{
    private sealed record Presence(string UserId, bool Online, string[] ConnectionIds);

    [Theory]
    [InlineData("Admin")]
    [InlineData("Publisher")]
    public async Task PresenceListsEveryConnectionOfAnOnlineUser(string role)
    {
        var user = "rita-" + role;
        await using var first = await server.ConnectAsync(HubRoutes.Chat, server.Token(user));
        await using var second = await server.ConnectAsync(HubRoutes.Notifications, server.Token(user));
        using var http = server.Http(server.Token("ops", roles: [role]));
        // A client's start completes with the handshake, before the server's OnConnectedAsync has run.
        var tracker = server.Get<Core.Connections.IConnectionTracker>();
        await TestTimeouts.Eventually(() => tracker.GetUserConnections(user).Count == 2, "both connections are tracked");

        var online = await http.GetFromJsonAsync<Presence>($"/api/presence/users/{user}").DefaultTimeout();

        Assert.True(online!.Online);
        Assert.Equal(new[] { first.ConnectionId!, second.ConnectionId! }.Order(), online.ConnectionIds.Order());

        await first.DisposeAsync();
        await second.DisposeAsync();
        await TestTimeouts.Eventually(() => !tracker.IsUserOnline(user), "the user is offline");
        var offline = await http.GetFromJsonAsync<Presence>($"/api/presence/users/{user}").DefaultTimeout();
        Assert.False(offline!.Online);
        Assert.Empty(offline.ConnectionIds);
    }

    public static TheoryData<string, string> Routes() => new()
    {
        { "GET", "/api/presence/users/someone" },
        { "POST", "/api/notifications/broadcast" },
        { "POST", "/api/notifications/users/someone" },
        { "POST", "/api/notifications/groups/some-group" },
    };

    [Theory]
    [MemberData(nameof(Routes))]
    public async Task EveryRouteRefusesAnonymousCallersAndOtherRoles(string method, string path)
    {
        using var anonymous = server.Http();
        using var plainUser = server.Http(server.Token("sam", roles: ["Member"]));

        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.SendAsync(Request(method, path)).DefaultTimeout()).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await plainUser.SendAsync(Request(method, path)).DefaultTimeout()).StatusCode);
    }

    [Fact]
    public async Task AnInvalidUserIdIsAProblemWithItsCode()
    {
        using var http = server.Http(server.Token("ops", roles: ["Admin"]));
        var response = await http.GetAsync("/api/presence/users/bad%20id").DefaultTimeout();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<Dictionary<string, object>>();
        Assert.Equal(ErrorCodes.UserIdInvalid, problem!["code"].ToString());
    }

    [Fact]
    public async Task PresenceStaysExactUnderConcurrentConnectsAndDisconnectsOfOneUser()
    {
        var token = server.Token("swarm");
        var connections = Enumerable.Range(0, 24).Select(_ => server.Hub(HubRoutes.Chat, token)).ToArray();
        await Task.WhenAll(connections.Select(c => c.StartedAsync())).DefaultTimeout();
        var leaving = connections.Where((_, i) => i % 2 == 0).ToArray();
        var staying = connections.Where((_, i) => i % 2 == 1).ToArray();

        // Half leave while as many new ones arrive, all at once.
        var arriving = Enumerable.Range(0, 12).Select(_ => server.Hub(HubRoutes.Chat, token)).ToArray();
        await Task.WhenAll(leaving.Select(c => c.StopAsync()).Concat(arriving.Select(c => c.StartedAsync()))).DefaultTimeout();

        var expected = staying.Concat(arriving).Select(c => c.ConnectionId!).Order().ToArray();
        var tracker = server.Get<Core.Connections.IConnectionTracker>();
        await TestTimeouts.Eventually(() => tracker.GetUserConnections("swarm").Count == expected.Length, "the leavers are gone");
        using var http = server.Http(server.Token("ops", roles: ["Admin"]));
        var presence = await http.GetFromJsonAsync<Presence>("/api/presence/users/swarm").DefaultTimeout();
        Assert.Equal(expected, presence!.ConnectionIds.Order());

        await Task.WhenAll(staying.Concat(arriving).Select(c => c.StopAsync())).DefaultTimeout();
        await TestTimeouts.Eventually(() => !tracker.IsUserOnline("swarm"), "the user is offline");
        foreach (var c in connections.Concat(arriving)) await c.DisposeAsync();
    }

    private static HttpRequestMessage Request(string method, string path) => new(new HttpMethod(method), path)
    {
        Content = method == "POST" ? JsonContent.Create("hello") : null,
    };
}
