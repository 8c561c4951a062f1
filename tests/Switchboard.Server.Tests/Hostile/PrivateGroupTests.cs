using System.Net;
using System.Net.Http.Json;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Switchboard.Contracts;
using Switchboard.Server.Tests.Infrastructure;

namespace Switchboard.Server.Tests.Hostile;

/// <summary>
/// Mallory tries every door into Bob's private channel <c>user:bob</c>. Each is refused with a
/// stable code, and the only private message Bob ever gets is the one really sent to him.
/// </summary>
public sealed class PrivateGroupTests(HostileServer server) : IClassFixture<HostileServer>
{
    public static TheoryData<string, string, object?[], string> Doors() => new()
    {
        { HubRoutes.Chat, HubMethods.JoinGroup, ["user:bob"], ErrorCodes.GroupNameReserved },
        { HubRoutes.Chat, HubMethods.JoinGroup, ["USER:bob"], ErrorCodes.GroupNameReserved },
        { HubRoutes.Chat, HubMethods.JoinGroup, ["User:Bob"], ErrorCodes.GroupNameReserved },
        { HubRoutes.Chat, HubMethods.JoinGroup, [" user:bob"], ErrorCodes.GroupNameInvalid },
        { HubRoutes.Chat, HubMethods.JoinGroup, ["$env:user:bob"], ErrorCodes.GroupNameInvalid },
        { HubRoutes.Chat, HubMethods.JoinGroup, ["user:bob\u0000"], ErrorCodes.GroupNameInvalid },
        { HubRoutes.Chat, HubMethods.JoinGroup, ["*"], ErrorCodes.GroupNameInvalid },
        { HubRoutes.Chat, HubMethods.Subscribe, ["user:bob", new { offset = 0 }], ErrorCodes.GroupNameReserved },
        { HubRoutes.Chat, HubMethods.SendMessageToGroup, ["user:bob", "m", "hi bob"], ErrorCodes.GroupNameReserved },
        { HubRoutes.Chat, HubMethods.Publish, ["user:bob", new { message = "hi bob" }], ErrorCodes.GroupNameReserved },
        { HubRoutes.Chat, HubMethods.GetHistory, ["user:bob", 0, 10], ErrorCodes.GroupNameReserved },
        { HubRoutes.Chat, HubMethods.GetPresence, ["user:bob"], ErrorCodes.GroupNameReserved },
        { HubRoutes.Notifications, HubMethods.JoinGroup, ["user:bob"], ErrorCodes.GroupNameReserved },
    };

    [Theory]
    [MemberData(nameof(Doors))]
    public async Task AnotherUsersPrivateGroupCannotBeReachedThroughAHub(string hub, string method, object?[] arguments, string code)
    {
        await using var control = await server.ControlAsync();
        await using var bob = server.Hub(HubRoutes.SecureChat, server.Token("bob", "Bob"));
        var atBob = Events.On<string, string>(bob, ClientEvents.PrivateMessage);
        await bob.StartedAsync();
        await using var mallory = await server.ConnectAsync(hub, server.Token("mallory", "Mallory"));

        var error = await Assert.ThrowsAsync<HubException>(() => mallory.InvokeCoreAsync(method, typeof(object), arguments).DefaultTimeout());

        Assert.Contains($"HubException: {code}: ", error.Message);
        await using var alice = await server.ConnectAsync(HubRoutes.SecureChat, server.Token("alice", "Alice"));
        await alice.InvokeAsync(HubMethods.SendPrivateMessage, "bob", "only this").DefaultTimeout();
        Assert.Equal(("alice", "only this"), await atBob.NextAsync());
        Assert.Empty(atBob.Drain());
        await control.AssertHealthyAsync();
    }

    [Theory]
    [InlineData("/api/notifications/groups/user:bob")]
    [InlineData("/api/notifications/groups/USER:bob")]
    [InlineData("/api/groups/user:bob/messages")]
    public async Task AnotherUsersPrivateGroupCannotBeReachedThroughTheApi(string path)
    {
        await using var control = await server.ControlAsync();
        using var http = server.Http(server.Token("backend", roles: ["Publisher"]));

        var response = path.Contains("/notifications/", StringComparison.Ordinal)
            ? await http.PostAsJsonAsync(path, "hi bob").DefaultTimeout()
            : await http.PostAsJsonAsync(path, new { message = "hi bob" }).DefaultTimeout();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains($"\"code\":\"{ErrorCodes.GroupNameReserved}\"", await response.Content.ReadAsStringAsync());
        await control.AssertHealthyAsync();
    }
}
