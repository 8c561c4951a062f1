using System.Net;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Switchboard.Contracts;
using Switchboard.Server.Tests.Infrastructure;

namespace Switchboard.Server.Tests;

public sealed class TypedChatHubTests(SwitchboardFactory server) : IClassFixture<SwitchboardFactory>
{
    [Fact]
    public async Task ArrivalsMessagesAndDeparturesUseTheTokensName()
    {
        await using var watcher = server.Hub(HubRoutes.TypedChat, server.Token("tia", "Tia"));
        var connected = Events.On<string, string>(watcher, nameof(IChatClient.UserConnected));
        var disconnected = Events.On<string>(watcher, nameof(IChatClient.UserDisconnected));
        var messages = Events.On<string, string>(watcher, nameof(IChatClient.ReceiveMessage));
        await watcher.StartedAsync();
        Assert.Equal((watcher.ConnectionId!, "Tia"), await connected.NextAsync());

        var other = await server.ConnectAsync(HubRoutes.TypedChat, server.Token("tom", "Tom"));
        var otherId = other.ConnectionId!;
        Assert.Equal((otherId, "Tom"), await connected.NextAsync());
        await other.InvokeAsync(HubMethods.SendMessage, "typed hello").DefaultTimeout();
        Assert.Equal(("Tom", "typed hello"), await messages.NextAsync());
        await other.DisposeAsync();

        Assert.Equal(otherId, await disconnected.NextAsync());
    }

    [Fact]
    public async Task SendToUserReachesEveryConnectionOfThatUserOnly()
    {
        await using var sender = await server.ConnectAsync(HubRoutes.TypedChat, server.Token("tad"));
        await using var phone = server.Hub(HubRoutes.TypedChat, server.Token("tess"));
        await using var laptop = server.Hub(HubRoutes.TypedChat, server.Token("tess"));
        await using var other = server.Hub(HubRoutes.TypedChat, server.Token("ty"));
        var atPhone = Events.On<NotificationDto>(phone, nameof(IChatClient.ReceiveNotification));
        var atLaptop = Events.On<NotificationDto>(laptop, nameof(IChatClient.ReceiveNotification));
        var atOther = Events.On<NotificationDto>(other, nameof(IChatClient.ReceiveNotification));
        await Task.WhenAll(phone.StartedAsync(), laptop.StartedAsync(), other.StartedAsync()).DefaultTimeout();

        await sender.InvokeAsync(HubMethods.SendToUser, "tess", new NotificationDto { Message = "for tess" }).DefaultTimeout();
        await sender.InvokeAsync(HubMethods.SendToUser, "ty", new NotificationDto { Message = "for ty" }).DefaultTimeout();

        Assert.Equal("for tess", (await atPhone.NextAsync()).Message);
        var laptopCopy = await atLaptop.NextAsync();
        Assert.Equal("for tess", laptopCopy.Message);
        Assert.InRange(laptopCopy.Timestamp, DateTime.UtcNow.AddMinutes(-1), DateTime.UtcNow.AddSeconds(1));
        Assert.Equal("for ty", (await atOther.NextAsync()).Message); // the first never reached ty
    }

    [Fact]
    public async Task SendToUserRefusesInvalidUserIds()
    {
        await using var sender = await server.ConnectAsync(HubRoutes.TypedChat, server.Token("tod"));
        var error = await Assert.ThrowsAsync<HubException>(() =>
            sender.InvokeAsync(HubMethods.SendToUser, "not valid", new NotificationDto { Message = "x" }).DefaultTimeout());
        Assert.Contains(ErrorCodes.UserIdInvalid, error.Message);
    }
}

public sealed class NotificationTests(SwitchboardFactory server) : IClassFixture<SwitchboardFactory>
{
    [Theory]
    [InlineData("Admin")]
    [InlineData("Publisher")]
    public async Task BroadcastReachesEveryNotificationsClient(string role)
    {
        await using var client = server.Hub(HubRoutes.Notifications, server.Token("nat"));
        var received = Events.On<NotificationDto>(client, nameof(INotificationClient.ReceiveNotification));
        await client.StartedAsync();
        using var http = server.Http(server.Token("backend", roles: [role]));

        var response = await http.PostAsync("/api/notifications/broadcast", JsonContent.Create("hello")).DefaultTimeout();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var notification = await received.NextAsync();
        Assert.Equal("hello", notification.Message);
        Assert.InRange(notification.Timestamp, DateTime.UtcNow.AddMinutes(-1), DateTime.UtcNow.AddSeconds(1));
    }

    [Fact]
    public async Task UserAndGroupNotificationsReachOnlyTheirTargets()
    {
        await using var nick = server.Hub(HubRoutes.Notifications, server.Token("nick"));
        await using var nora = server.Hub(HubRoutes.Notifications, server.Token("nora"));
        var atNick = Events.On<NotificationDto>(nick, nameof(INotificationClient.ReceiveNotification));
        var atNora = Events.On<NotificationDto>(nora, nameof(INotificationClient.ReceiveNotification));
        await Task.WhenAll(nick.StartedAsync(), nora.StartedAsync()).DefaultTimeout();
        await nora.InvokeAsync(HubMethods.JoinGroup, "ops").DefaultTimeout();
        using var http = server.Http(server.Token("backend", roles: ["Publisher"]));

        await http.PostAsync("/api/notifications/users/nick", JsonContent.Create("just nick")).DefaultTimeout();
        await http.PostAsync("/api/notifications/groups/ops", JsonContent.Create("ops only")).DefaultTimeout();
        Assert.Equal("just nick", (await atNick.NextAsync()).Message);
        Assert.Equal("ops only", (await atNora.NextAsync()).Message);

        await nora.InvokeAsync(HubMethods.LeaveGroup, "ops").DefaultTimeout();
        await http.PostAsync("/api/notifications/groups/ops", JsonContent.Create("nobody left")).DefaultTimeout();
        await http.PostAsync("/api/notifications/broadcast", JsonContent.Create("everyone")).DefaultTimeout();
        Assert.Equal("everyone", (await atNora.NextAsync()).Message);
        Assert.Equal("everyone", (await atNick.NextAsync()).Message);
    }

    public static TheoryData<string, string, string> BadBodies() => new()
    {
        { "{bad", "application/json", ErrorCodes.BodyInvalid },
        { "{\"message\":\"x\"}", "application/json", ErrorCodes.BodyInvalid },
        { "\"hello\"", "text/plain", ErrorCodes.BodyInvalid },
        { "\"\"", "application/json", ErrorCodes.MessageEmpty },
        { "null", "application/json", ErrorCodes.BodyInvalid },
    };

    [Theory]
    [MemberData(nameof(BadBodies))]
    public async Task MalformedBodiesAreProblemsWithTheirCode(string body, string contentType, string code)
    {
        using var http = server.Http(server.Token("backend", roles: ["Admin"]));
        var response = await http.PostAsync("/api/notifications/broadcast", new StringContent(body, System.Text.Encoding.UTF8, contentType)).DefaultTimeout();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(code, (await response.Content.ReadFromJsonAsync<Dictionary<string, object>>())!["code"].ToString());
    }

    [Fact]
    public async Task RefusalsCarryTheirCodes()
    {
        using var anonymous = server.Http();
        using var member = server.Http(server.Token("nell"));
        using var admin = server.Http(server.Token("backend", roles: ["Admin"]));

        var unauthenticated = await anonymous.PostAsync("/api/notifications/broadcast", JsonContent.Create("x")).DefaultTimeout();
        var forbidden = await member.PostAsync("/api/notifications/broadcast", JsonContent.Create("x")).DefaultTimeout();
        var badGroup = await admin.PostAsync("/api/notifications/groups/user:nell", JsonContent.Create("x")).DefaultTimeout();

        Assert.Equal(HttpStatusCode.Unauthorized, unauthenticated.StatusCode);
        Assert.Equal(ErrorCodes.Unauthenticated, (await unauthenticated.Content.ReadFromJsonAsync<Dictionary<string, object>>())!["code"].ToString());
        Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
        Assert.Equal(ErrorCodes.PermissionDenied, (await forbidden.Content.ReadFromJsonAsync<Dictionary<string, object>>())!["code"].ToString());
        Assert.Equal(HttpStatusCode.BadRequest, badGroup.StatusCode);
        Assert.Equal(ErrorCodes.GroupNameReserved, (await badGroup.Content.ReadFromJsonAsync<Dictionary<string, object>>())!["code"].ToString());
    }
}

public sealed class TransportMatrixTests(SwitchboardFactory server) : IClassFixture<SwitchboardFactory>
{
    // SignalR cannot carry MessagePack (binary) over Server-Sent Events, so that pair is not in the data.
    public static TheoryData<HttpTransportType, bool> Combinations() => new()
    {
        { HttpTransportType.WebSockets, false },
        { HttpTransportType.WebSockets, true },
        { HttpTransportType.ServerSentEvents, false },
        { HttpTransportType.LongPolling, false },
        { HttpTransportType.LongPolling, true },
    };

    [Theory]
    [MemberData(nameof(Combinations))]
    public async Task GroupsAndEnvelopesWorkOnEveryTransportAndProtocol(HttpTransportType transport, bool messagePack)
    {
        var group = $"m-{transport}-{messagePack}".ToLowerInvariant();
        await using var client = server.Hub(HubRoutes.Chat, server.Token("tran", "Tran"), transport, messagePack);
        var plain = Events.On<string, string>(client, ClientEvents.ReceiveMessage);
        var envelopes = Events.On<GroupEnvelope>(client, ClientEvents.ReceiveGroupMessage);
        await client.StartedAsync();
        await client.InvokeAsync(HubMethods.JoinGroup, group).DefaultTimeout();
        await client.InvokeAsync(HubMethods.SendMessageToGroup, group, "x", "plain").DefaultTimeout();
        Assert.Equal(("Tran", "plain"), await plain.NextAsync());

        await client.InvokeAsync(HubMethods.LeaveGroup, group).DefaultTimeout();
        await client.InvokeAsync<SubscribeResult>(HubMethods.Subscribe, group, new SubscribeRequest()).DefaultTimeout();
        var ack = await client.InvokeAsync<PublishResult>(HubMethods.Publish, group, new PublishRequest { Message = "enveloped" }).DefaultTimeout();

        var envelope = await envelopes.NextAsync();
        Assert.Equal(("enveloped", ack.Offset, ack.Epoch, "tran"), (envelope.Payload, envelope.Offset, envelope.Epoch, envelope.SenderId));
    }
}
