using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Switchboard.Contracts;
using Switchboard.Server.Tests.Infrastructure;

namespace Switchboard.Server.Tests;

public sealed class ChatHubTests(SwitchboardFactory server) : IClassFixture<SwitchboardFactory>
{
    [Fact]
    public async Task SignedInSenderIsKnownByTheTokenNameNotTheUserArgument()
    {
        await using var alice = server.Hub(HubRoutes.Chat, server.Token("alice", "Alice"));
        await using var bob = server.Hub(HubRoutes.Chat, server.Token("bob", "Bob"));
        var atBob = Events.On<string, string>(bob, ClientEvents.ReceiveMessage);
        await alice.StartedAsync();
        await bob.StartedAsync();

        await alice.InvokeAsync(HubMethods.SendMessage, "Mallory", "hello").DefaultTimeout();

        Assert.Equal(("Alice", "hello"), await atBob.NextAsync());
    }

    [Fact]
    public async Task ConnectAndDisconnectAreAnnouncedToEveryone()
    {
        await using var watcher = server.Hub(HubRoutes.Chat, server.Token("watcher"));
        var connected = Events.On<string>(watcher, ClientEvents.UserConnected);
        var disconnected = Events.On<string>(watcher, ClientEvents.UserDisconnected);
        await watcher.StartedAsync();
        Assert.Equal(watcher.ConnectionId, await connected.NextAsync()); // its own arrival

        var other = await server.ConnectAsync(HubRoutes.Chat, server.Token("visitor"));
        var otherId = other.ConnectionId;
        Assert.Equal(otherId, await connected.NextAsync());
        await other.DisposeAsync().AsTask().DefaultTimeout();

        Assert.Equal(otherId, await disconnected.NextAsync());
    }

    [Fact]
    public async Task GroupMessagesReachMembersOnly()
    {
        var token = server.Token("carol", "Carol");
        await using var member = server.Hub(HubRoutes.Chat, token);
        await using var outsider = server.Hub(HubRoutes.Chat, server.Token("dave"));
        var atMember = Events.On<string, string>(member, ClientEvents.ReceiveMessage);
        var atOutsider = Events.On<string, string>(outsider, ClientEvents.ReceiveMessage);
        await member.StartedAsync();
        await outsider.StartedAsync();
        await member.InvokeAsync(HubMethods.JoinGroup, "room-1").DefaultTimeout();

        await outsider.InvokeAsync(HubMethods.SendMessageToGroup, "room-1", "x", "for members").DefaultTimeout();
        Assert.Equal(("dave", "for members"), await atMember.NextAsync());

        // A broadcast afterwards reaches the outsider; had the group message reached it, it would come first.
        await member.InvokeAsync(HubMethods.SendMessage, "x", "to all").DefaultTimeout();
        Assert.Equal(("Carol", "to all"), await atOutsider.NextAsync());
    }

    [Fact]
    public async Task JoiningAndLeavingAreAnnouncedToTheGroup()
    {
        await using var first = server.Hub(HubRoutes.Chat, server.Token("erin"));
        await using var second = server.Hub(HubRoutes.Chat, server.Token("frank"));
        var joined = Events.On<string, string>(first, ClientEvents.UserJoined);
        var left = Events.On<string, string>(first, ClientEvents.UserLeft);
        await first.StartedAsync();
        await second.StartedAsync();

        await first.InvokeAsync(HubMethods.JoinGroup, "room-2").DefaultTimeout();
        Assert.Equal((first.ConnectionId!, "room-2"), await joined.NextAsync());
        await second.InvokeAsync(HubMethods.JoinGroup, "room-2").DefaultTimeout();
        Assert.Equal((second.ConnectionId!, "room-2"), await joined.NextAsync());
        await second.InvokeAsync(HubMethods.LeaveGroup, "room-2").DefaultTimeout();

        Assert.Equal((second.ConnectionId!, "room-2"), await left.NextAsync());
    }

    [Theory]
    [InlineData("", ErrorCodes.GroupNameInvalid)]
    [InlineData("has space", ErrorCodes.GroupNameInvalid)]
    [InlineData("wild*card", ErrorCodes.GroupNameInvalid)]
    [InlineData("line\nbreak", ErrorCodes.GroupNameInvalid)]
    [InlineData("user:bob", ErrorCodes.GroupNameReserved)]
    [InlineData("USER:bob", ErrorCodes.GroupNameReserved)]
    public async Task InvalidAndReservedGroupNamesAreRefusedWithTheirCode(string groupName, string code)
    {
        await using var client = await server.ConnectAsync(HubRoutes.Chat, server.Token("gina"));

        var join = await Assert.ThrowsAsync<HubException>(() => client.InvokeAsync(HubMethods.JoinGroup, groupName).DefaultTimeout());
        var send = await Assert.ThrowsAsync<HubException>(() => client.InvokeAsync(HubMethods.SendMessageToGroup, groupName, "g", "hi").DefaultTimeout());

        Assert.Contains(code + ": ", join.Message);
        Assert.Contains(code + ": ", send.Message);
        Assert.Equal(HubConnectionState.Connected, client.State);
    }

    [Fact]
    public async Task OverlongGroupNameIsRefused()
    {
        await using var client = await server.ConnectAsync(HubRoutes.Chat, server.Token("gina"));
        var error = await Assert.ThrowsAsync<HubException>(() => client.InvokeAsync(HubMethods.JoinGroup, new string('a', 129)).DefaultTimeout());
        Assert.Contains(ErrorCodes.GroupNameInvalid, error.Message);
        await client.InvokeAsync(HubMethods.JoinGroup, new string('a', 128)).DefaultTimeout();
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData(null)]
    public async Task EmptyMessagesAreRefused(string? message)
    {
        await using var client = await server.ConnectAsync(HubRoutes.Chat, server.Token("hank"));
        var error = await Assert.ThrowsAsync<HubException>(() => client.InvokeAsync(HubMethods.SendMessage, "hank", message).DefaultTimeout());
        Assert.Contains(ErrorCodes.MessageEmpty + ": Message cannot be empty.", error.Message);
    }

    [Fact]
    public async Task AMessageOverTheSizeLimitClosesOnlyTheSender()
    {
        await using var sender = server.Hub(HubRoutes.Chat, server.Token("ivan"));
        await using var neighbour = server.Hub(HubRoutes.Chat, server.Token("judy", "Judy"));
        var closed = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        sender.Closed += e => { closed.TrySetResult(e); return Task.CompletedTask; };
        var atNeighbour = Events.On<string, string>(neighbour, ClientEvents.ReceiveMessage);
        await sender.StartedAsync();
        await neighbour.StartedAsync();

        _ = sender.SendAsync(HubMethods.SendMessage, "ivan", new string('x', 40 * 1024));

        var error = await closed.Task.DefaultTimeout();
        Assert.NotNull(error);
        Assert.Equal(HubConnectionState.Disconnected, sender.State);
        await neighbour.InvokeAsync(HubMethods.SendMessage, "judy", "still here").DefaultTimeout();
        Assert.Equal(("Judy", "still here"), await atNeighbour.NextAsync());
    }
}

/// <summary>A server that opens the chat hub, and only it, to anonymous users.</summary>
public sealed class AnonymousChatServer() : SwitchboardFactoryWith(new() { ["Switchboard:AllowAnonymousHubs:0"] = "chat" });

public sealed class AnonymousChatTests(AnonymousChatServer server) : IClassFixture<AnonymousChatServer>
{
    [Fact]
    public async Task AnOpenedHubAcceptsAnonymousUsersKnownByTheNameTheyGive()
    {
        await using var anonymous = server.Hub(HubRoutes.Chat, token: null);
        var received = Events.On<string, string>(anonymous, ClientEvents.ReceiveMessage);
        await anonymous.StartedAsync();

        await anonymous.InvokeAsync(HubMethods.SendMessage, "John", "Hello everyone!").DefaultTimeout();

        Assert.Equal(("John", "Hello everyone!"), await received.NextAsync());
        var error = await Assert.ThrowsAsync<HubException>(() => anonymous.InvokeAsync(HubMethods.SendMessage, " ", "hi").DefaultTimeout());
        Assert.Contains(ErrorCodes.UserNameInvalid, error.Message);
    }

    [Fact]
    public async Task AnOpenedHubStillRefusesABadToken()
    {
        await using var forged = server.Hub(HubRoutes.Chat, server.Token("x")[..^4] + "AAAA");
        var error = await Assert.ThrowsAsync<HttpRequestException>(() => forged.StartedAsync());
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, error.StatusCode);
    }

    [Theory]
    [InlineData(HubRoutes.SecureChat)]
    [InlineData(HubRoutes.Notifications)]
    [InlineData(HubRoutes.Robust)]
    public async Task HubsNotOpenedStillRefuseAnonymousUsers(string hub)
    {
        await using var anonymous = server.Hub(hub, token: null);
        var error = await Assert.ThrowsAsync<HttpRequestException>(() => anonymous.StartedAsync());
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, error.StatusCode);
    }
}
