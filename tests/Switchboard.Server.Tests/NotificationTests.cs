using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Switchboard.Contracts;
using Switchboard.Core.Connections;
using Switchboard.Server.Tests.Infrastructure;

namespace Switchboard.Server.Tests;

public sealed class NotificationTests(SwitchboardFactory server) : IClassFixture<SwitchboardFactory>
{
    private static readonly string[] Routes =
        ["/api/notifications/broadcast", "/api/notifications/users/someone", "/api/notifications/groups/some-group"];

    private HttpClient Admin() => server.Http(server.Token("ops", roles: ["Admin"]));

    private async Task<(HubConnection Connection, EventLog<NotificationDto> Notifications)> ListenAsync(string userId)
    {
        var connection = server.Hub(HubRoutes.Notifications, server.Token(userId));
        var log = Events.On<NotificationDto>(connection, ClientEvents.ReceiveNotification);
        await connection.StartedAsync();
        await server.Get<IConnectionTracker>().UntilRegistered(userId, connection);
        return (connection, log);
    }

    private static async Task PostOkAsync(HttpClient http, string path, string message)
    {
        var response = await http.PostAsync(path, JsonContent.Create(message)).DefaultTimeout();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private static async Task<string?> ProblemCodeAsync(HttpResponseMessage response)
    {
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>().DefaultTimeout();
        Assert.Equal((int)response.StatusCode, problem.GetProperty("status").GetInt32());
        return problem.GetProperty("code").GetString();
    }

    [Theory]
    [InlineData("Admin")]
    [InlineData("Publisher")]
    public async Task ABroadcastReachesEveryNotificationsClient(string role)
    {
        var (first, atFirst) = await ListenAsync("nora");
        var (second, atSecond) = await ListenAsync("otto");
        await using var _ = first;
        await using var __ = second;
        using var http = server.Http(server.Token("backend", roles: [role]));
        var before = DateTime.UtcNow;

        await PostOkAsync(http, "/api/notifications/broadcast", "hello");

        foreach (var log in new[] { atFirst, atSecond })
        {
            var notification = await log.NextAsync();
            Assert.Equal("hello", notification.Message);
            Assert.InRange(notification.Timestamp.ToUniversalTime(), before.AddSeconds(-1), DateTime.UtcNow.AddSeconds(1));
        }
    }

    [Fact]
    public async Task ABroadcastOverMessagePackCarriesTheSameNotification()
    {
        await using var client = server.Hub(HubRoutes.Notifications, server.Token("pia"), messagePack: true);
        var received = Events.On<NotificationDto>(client, ClientEvents.ReceiveNotification);
        await client.StartedAsync();
        await server.Get<IConnectionTracker>().UntilRegistered("pia", client);
        using var http = Admin();
        var before = DateTime.UtcNow;

        await PostOkAsync(http, "/api/notifications/broadcast", "packed");

        var notification = await received.NextAsync();
        Assert.Equal("packed", notification.Message);
        Assert.InRange(notification.Timestamp.ToUniversalTime(), before.AddSeconds(-1), DateTime.UtcNow.AddSeconds(1));
    }

    [Fact]
    public async Task AUserNotificationReachesEveryConnectionOfThatUserOnly()
    {
        var (phone, atPhone) = await ListenAsync("quinn");
        var (laptop, atLaptop) = await ListenAsync("quinn");
        var (other, atOther) = await ListenAsync("rosa");
        await using var _ = phone;
        await using var __ = laptop;
        await using var ___ = other;
        using var http = Admin();

        await PostOkAsync(http, "/api/notifications/users/quinn", "for quinn");

        Assert.Equal("for quinn", (await atPhone.NextAsync()).Message);
        Assert.Equal("for quinn", (await atLaptop.NextAsync()).Message);
        // Had rosa received quinn's notification, it would come before this broadcast.
        await PostOkAsync(http, "/api/notifications/broadcast", "for all");
        Assert.Equal("for all", (await atOther.NextAsync()).Message);
    }

    [Fact]
    public async Task AUserNotificationToAnOfflineUserSucceedsAndReachesNoOne()
    {
        var (client, received) = await ListenAsync("sven");
        await using var _ = client;
        using var http = Admin();

        await PostOkAsync(http, "/api/notifications/users/nobody-online", "into the void");
        await PostOkAsync(http, "/api/notifications/broadcast", "for all");

        Assert.Equal("for all", (await received.NextAsync()).Message);
    }

    [Fact]
    public async Task AGroupNotificationReachesOnlyConnectionsThatJoinedAndNotAfterTheyLeave()
    {
        var (stayer, atStayer) = await ListenAsync("tara");
        var (leaver, atLeaver) = await ListenAsync("ugo");
        var (outsider, atOutsider) = await ListenAsync("vic");
        await using var _ = stayer;
        await using var __ = leaver;
        await using var ___ = outsider;
        await stayer.InvokeAsync(HubMethods.JoinGroup, "ops-room").DefaultTimeout();
        await leaver.InvokeAsync(HubMethods.JoinGroup, "ops-room").DefaultTimeout();
        using var http = Admin();

        await PostOkAsync(http, "/api/notifications/groups/ops-room", "first");
        Assert.Equal("first", (await atStayer.NextAsync()).Message);
        Assert.Equal("first", (await atLeaver.NextAsync()).Message);

        await leaver.InvokeAsync(HubMethods.LeaveGroup, "ops-room").DefaultTimeout();
        await PostOkAsync(http, "/api/notifications/groups/ops-room", "second");
        Assert.Equal("second", (await atStayer.NextAsync()).Message);

        // Neither the leaver (after leaving) nor the outsider got a group notification: the broadcast comes first.
        await PostOkAsync(http, "/api/notifications/broadcast", "for all");
        Assert.Equal("for all", (await atLeaver.NextAsync()).Message);
        Assert.Equal("for all", (await atOutsider.NextAsync()).Message);
    }

    [Theory]
    [InlineData("has space")]
    [InlineData("wild*card")]
    [InlineData("")]
    public async Task JoiningAnInvalidGroupOnTheHubIsRefused(string groupName)
    {
        var (client, _) = await ListenAsync("wim");
        await using var _c = client;

        var join = await Assert.ThrowsAsync<HubException>(() => client.InvokeAsync(HubMethods.JoinGroup, groupName).DefaultTimeout());
        var leave = await Assert.ThrowsAsync<HubException>(() => client.InvokeAsync(HubMethods.LeaveGroup, groupName).DefaultTimeout());

        Assert.Contains(ErrorCodes.GroupNameInvalid + ": ", join.Message);
        Assert.Contains(ErrorCodes.GroupNameInvalid + ": ", leave.Message);
    }

    [Fact]
    public async Task EveryRouteRefusesAnAnonymousCallerWithUnauthenticated()
    {
        using var anonymous = server.Http();

        foreach (var route in Routes)
        {
            var response = await anonymous.PostAsync(route, JsonContent.Create("hello")).DefaultTimeout();

            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Equal(ErrorCodes.Unauthenticated, await ProblemCodeAsync(response));
        }
    }

    [Theory]
    [InlineData("Member")]
    [InlineData(null)]
    public async Task EveryRouteRefusesATokenWithoutAdminOrPublisherWithPermissionDenied(string? role)
    {
        var (client, received) = await ListenAsync("xia");
        await using var _ = client;
        using var user = server.Http(server.Token("mallory", roles: role is null ? null : [role]));

        foreach (var route in Routes)
        {
            var response = await user.PostAsync(route, JsonContent.Create("forged")).DefaultTimeout();

            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
            Assert.Equal(ErrorCodes.PermissionDenied, await ProblemCodeAsync(response));
        }
        using var admin = Admin();
        await PostOkAsync(admin, "/api/notifications/broadcast", "genuine");
        Assert.Equal("genuine", (await received.NextAsync()).Message);
    }

    public static TheoryData<string, string, string> MalformedBodies() => new()
    {
        { "{bad", "application/json", ErrorCodes.BodyInvalid },
        { """{"message":"hello"}""", "application/json", ErrorCodes.BodyInvalid },
        { """["hello"]""", "application/json", ErrorCodes.BodyInvalid },
        { "42", "application/json", ErrorCodes.BodyInvalid },
        { "null", "application/json", ErrorCodes.BodyInvalid },
        { "", "application/json", ErrorCodes.BodyInvalid },
        { "hello", "text/plain", ErrorCodes.BodyInvalid },
        { "\"hello\"", "text/plain", ErrorCodes.BodyInvalid },
        { "\"\"", "application/json", ErrorCodes.MessageEmpty },
        { "\"   \"", "application/json", ErrorCodes.MessageEmpty },
        { "\"" + new string('x', 16 * 1024 + 1) + "\"", "application/json", ErrorCodes.MessageTooLong },
    };

    [Theory]
    [MemberData(nameof(MalformedBodies))]
    public async Task AMalformedBodyIsABadRequestWithItsCodeAndDeliversNothing(string body, string contentType, string code)
    {
        var (client, received) = await ListenAsync("yara");
        await using var _ = client;
        await client.InvokeAsync(HubMethods.JoinGroup, "some-group").DefaultTimeout();
        using var http = Admin();

        foreach (var route in Routes.Append("/api/notifications/users/yara"))
        {
            var response = await http.PostAsync(route, new StringContent(body, Encoding.UTF8, contentType)).DefaultTimeout();

            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Equal(code, await ProblemCodeAsync(response));
        }
        await PostOkAsync(http, "/api/notifications/broadcast", "valid");
        Assert.Equal("valid", (await received.NextAsync()).Message);
    }

    [Theory]
    [InlineData("bad%20name", ErrorCodes.GroupNameInvalid)]
    [InlineData("wild*card", ErrorCodes.GroupNameInvalid)]
    [InlineData("user:bob", ErrorCodes.GroupNameReserved)]
    public async Task AnInvalidGroupNameInThePathIsABadRequestWithItsCode(string groupName, string code)
    {
        using var http = Admin();

        var response = await http.PostAsync($"/api/notifications/groups/{groupName}", JsonContent.Create("hello")).DefaultTimeout();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(code, await ProblemCodeAsync(response));
    }

    [Fact]
    public async Task AnOverlongGroupNameInThePathIsABadRequest()
    {
        using var http = Admin();

        var response = await http.PostAsync($"/api/notifications/groups/{new string('g', 129)}", JsonContent.Create("hello")).DefaultTimeout();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(ErrorCodes.GroupNameInvalid, await ProblemCodeAsync(response));
    }

    [Fact]
    public async Task AnInvalidUserIdInThePathIsABadRequestWithUserIdInvalid()
    {
        using var http = Admin();

        var response = await http.PostAsync("/api/notifications/users/bad%20id", JsonContent.Create("hello")).DefaultTimeout();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(ErrorCodes.UserIdInvalid, await ProblemCodeAsync(response));
    }
}
