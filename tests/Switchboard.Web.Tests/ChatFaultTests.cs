using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Playwright;
using Switchboard.Server.Tests.Infrastructure;
using Switchboard.Server.Web;
using Switchboard.Web.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;
using static Switchboard.Web.Tests.ChatTests;

namespace Switchboard.Web.Tests;

/// <summary>
/// The chat page when something fails under it: a server that comes back without its history or
/// with stricter limits, a private message lost between two processes, an acknowledgement lost
/// with the connection, a page without <c>crypto.randomUUID</c>.
/// </summary>
[Collection(WebAppCollection.Name)]
public sealed class ChatFaultTests(WebAppFixture app)
{
    private static ILocator Banner(UserPage user) => user.Page.Locator("#connection-banner");

    private static ILocator Notices(UserPage user, string room) => user.Page.Locator($"ol.messages[data-room=\"{room}\"] li.notice");

    private static ILocator PrivateReceived(UserPage user) => Chat(user).Locator("#private-messages li[data-direction=from]");

    private static async Task SendPrivateAsync(UserPage user, string to, string text)
    {
        await Chat(user).GetByLabel("To (user id)", new() { Exact = true }).FillAsync(to);
        await Chat(user).GetByLabel("Private message", new() { Exact = true }).FillAsync(text);
        await Chat(user).GetByRole(AriaRole.Button, new() { Name = "Send privately" }).ClickAsync();
        await Expect(Chat(user).Locator("#private-messages li[data-direction=to]").Filter(new() { HasText = text })).ToHaveCountAsync(1);
    }

    /// <summary>Publishes through the HTTP API, as another sender would.</summary>
    private static async Task PublishAsync(WebAppServer server, string room, string text)
    {
        using var http = server.Http(server.Token("ops", "Ops", "Publisher"));
        (await http.PostAsJsonAsync($"/api/groups/{Uri.EscapeDataString(room)}/messages", new { message = text })).EnsureSuccessStatusCode();
    }

    /// <summary>The payloads a room's history holds, read through the HTTP API.</summary>
    private static async Task<string[]> StoredAsync(WebAppServer server, string room)
    {
        using var http = server.Http(server.Token("ops", "Ops", "Admin"));
        using var page = JsonDocument.Parse(await http.GetStringAsync($"/api/groups/{Uri.EscapeDataString(room)}/messages?after=0&limit=100"));
        return page.RootElement.GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("payload").GetString()!).ToArray();
    }

    /// <summary>Takes the page's network away and brings it back in front of <paramref name="server"/>, as a restart behind the same address would.</summary>
    private static async Task MoveToAsync(UserPage user, CuttableNetwork network, WebAppServer server)
    {
        network.GoOffline();
        await Expect(Banner(user)).ToContainTextAsync("Reconnecting");
        network.Reroute(server.BaseUrl);
        network.GoOnline();
        await user.UntilConnectedAsync(Timeouts.ReconnectMs);
    }

    [Fact]
    public async Task AfterTheServerLostItsHistoryARoomShowsTheMessagesNumberedFromOneAgain()
    {
        var room = Unique("epoch");
        await using var network = new CuttableNetwork(app.Server.BaseUrl);
        // The same address, a new process on an empty data folder: every room has a new epoch, offsets start at 1 again.
        await using var restarted = new WebAppServer();
        await using var bob = await app.SignInAsync(Unique("bob"), "Bob", through: network.BaseUrl);
        try
        {
            await JoinAsync(bob, room);
            for (var i = 1; i <= 3; i++) await SendAsync(bob, $"before {i}");
            await Expect(Messages(bob, room)).ToHaveCountAsync(3);

            await MoveToAsync(bob, network, restarted);
            await Expect(Notices(bob, room)).ToContainTextAsync("could not be recovered");

            // Offsets 1 to 4 of the new epoch: the first three are the offsets of "before 1" to "before 3".
            for (var i = 1; i <= 4; i++) await PublishAsync(restarted, room, $"after {i}");
            await Expect(Messages(bob, room).Filter(new() { HasText = "after 4" })).ToHaveCountAsync(1);
            // One connection delivers in order: with "after 4" shown, whatever came before it is shown too.
            var texts = await Messages(bob, room).Locator(".message-text").AllTextContentsAsync();
            Assert.Equal(["before 1", "before 2", "before 3", "after 1", "after 2", "after 3", "after 4"], texts);
        }
        finally
        {
            await Screenshots.SaveAsync(bob.Page, "chat-new-epoch");
        }
        bob.AssertHealthy();
    }

    [Fact]
    public async Task ARoomTheServerRefusesAfterAReconnectSaysSoAndTheOthersGoOn()
    {
        var (kept, refused) = (Unique("kept"), Unique("refused"));
        await using var network = new CuttableNetwork(app.Server.BaseUrl);
        // The server comes back allowing one group per connection: the second room is refused (too_many_groups).
        await using var stricter = new WebAppServer("Development", new() { ["Switchboard:Limits:MaxGroupsPerConnection"] = "1" });
        await using var bob = await app.SignInAsync(Unique("bob"), "Bob", through: network.BaseUrl);
        try
        {
            await JoinAsync(bob, kept);
            await JoinAsync(bob, refused); // resubscribed second, and the room shown
            await SendAsync(bob, "before the restart");

            await MoveToAsync(bob, network, stricter);
            var notice = Notices(bob, refused);
            await Expect(notice).ToContainTextAsync("is no longer followed");
            await Expect(notice).ToContainTextAsync("too_many_groups");

            // The first room is followed again on the new server.
            await PublishAsync(stricter, kept, "still here");
            await Chat(bob).Locator($"#room-list li[data-room=\"{kept}\"] .room-button").ClickAsync();
            await Expect(Messages(bob, kept).Locator(".message-text")).ToHaveTextAsync(["still here"]);
            await Expect(Notices(bob, kept)).ToContainTextAsync("could not be recovered"); // a new epoch there: said, not refused
            await Expect(Notices(bob, kept).Filter(new() { HasText = "is no longer followed" })).ToHaveCountAsync(0);

            // The notice's advice works once the server has room for it: leave the other room, then leave and join this one.
            await Chat(bob).GetByRole(AriaRole.Button, new() { Name = $"Leave {kept}" }).ClickAsync();
            await Chat(bob).GetByRole(AriaRole.Button, new() { Name = $"Leave {refused}" }).ClickAsync();
            await Expect(Chat(bob).Locator("#room-list li")).ToHaveCountAsync(0);
            await JoinAsync(bob, refused);
            await PublishAsync(stricter, refused, "followed again");
            await Expect(Messages(bob, refused).Locator(".message-text")).ToHaveTextAsync(["followed again"]);
        }
        finally
        {
            await Screenshots.SaveAsync(bob.Page, "chat-room-refused");
        }
        bob.AssertHealthy();
    }

    [Fact]
    public async Task APrivateMessageLostBetweenTwoProcessesIsShownFromHistoryBeforeTheNextOne()
    {
        // Two processes on one Redis; Bob's reaches it through a link the test can cut. Redis
        // pub/sub delivers at most once: what is published while that link is down never
        // reaches Bob's process, though it is stored (docs/scale-out.md, "Order and gaps").
        await using var redis = await RedisServer.StartAsync();
        await using var link = new CuttableNetwork(redis.Url);
        await using var near = new WebAppServer("Development", new() { ["ConnectionStrings:Redis"] = $"127.0.0.1:{link.Port}" });
        await using var far = new WebAppServer("Development", new() { ["ConnectionStrings:Redis"] = redis.ConnectionString });
        await using var bobsNetwork = new CuttableNetwork(near.BaseUrl);
        var bobId = Unique("bob");
        await using var bob = await app.SignInAsync(bobId, "Bob", through: bobsNetwork.BaseUrl, server: near);
        await using var alice = await app.SignInAsync(Unique("alice"), "Alice", server: far);
        // The backplane channel of Bob's private envelopes, which only Bob's process subscribes to.
        var bobsChannel = $"*:group:$env:user:{bobId}";
        var catalog = near.Get<ConnectionCatalog>();
        string[] BobsConnections() => catalog.Connections.Where(c => c.UserId == bobId).Select(c => c.ConnectionId).Order().ToArray();
        var connections = BobsConnections();
        try
        {
            await SendPrivateAsync(alice, bobId, "first");
            await Expect(PrivateReceived(bob).Locator(".message-text")).ToHaveTextAsync(["first"]);
            Assert.Single(await redis.SubscribedChannelsAsync(bobsChannel));

            link.GoOffline();
            await Timeouts.Eventually(async () => (await redis.SubscribedChannelsAsync(bobsChannel)).Length == 0,
                "Redis dropped the subscription of Bob's process");
            await SendPrivateAsync(alice, bobId, "second"); // stored as offset 2, delivered to no process

            link.GoOnline();
            await Timeouts.Eventually(async () => (await redis.SubscribedChannelsAsync(bobsChannel)).Length == 1,
                "Bob's process subscribed again");
            using (var http = near.Http())
            {
                await Timeouts.Eventually(async () =>
                {
                    using var ready = await http.GetAsync("/health/ready");
                    return await ready.Content.ReadAsStringAsync() == "Healthy";
                }, "Bob's process reaches Redis again");
            }
            // Offsets 3 and 4 reach Bob's page together (his link stalls, then delivers): 3 is one
            // beyond the next, and 4 arrives while the page is still fetching 2 from history.
            bobsNetwork.HoldReplies();
            await SendPrivateAsync(alice, bobId, "third");
            await SendPrivateAsync(alice, bobId, "fourth");
            await Timeouts.Eventually(() => bobsNetwork.HeldReplies.Contains("fourth"), "the fourth message waits on Bob's link");
            bobsNetwork.ReleaseReplies();

            await Expect(PrivateReceived(bob).Filter(new() { HasText = "fourth" })).ToHaveCountAsync(1);
            var texts = await PrivateReceived(bob).Locator(".message-text").AllTextContentsAsync();
            Assert.Equal(["first", "second", "third", "fourth"], texts);
            // Filled while connected, not by a resubscribe: Bob's page kept its connections throughout.
            Assert.Equal(connections, BobsConnections());
            await Expect(bob.Page.Locator("#toasts .toast").Filter(new() { HasText = "could not be recovered" })).ToHaveCountAsync(0);
        }
        finally
        {
            await Screenshots.SaveAsync(bob.Page, "chat-private-gap");
        }
        bob.AssertHealthy();
        alice.AssertHealthy();
    }

    [Fact]
    public async Task AMessageWhoseAcknowledgementWasLostIsStoredOnceWhenSentAgain()
    {
        var room = Unique("retry");
        await using var network = new CuttableNetwork(app.Server.BaseUrl);
        await using var bob = await app.SignInAsync(Unique("bob"), "Bob", through: network.BaseUrl);
        try
        {
            await JoinAsync(bob, room);
            var input = Chat(bob).GetByLabel("Message", new() { Exact = true });
            await input.FillAsync("only once, please");

            // The publish reaches the server and is stored; its acknowledgement is lost with the connection.
            network.HoldReplies();
            await Chat(bob).GetByRole(AriaRole.Button, new() { Name = "Send", Exact = true }).ClickAsync();
            await Timeouts.Eventually(async () => (await StoredAsync(app.Server, room)).Length == 1, "the message is stored");
            network.GoOffline();
            // "WebSocket closed with status code: 1006 ...", or "... the underlying connection being closed."
            await Expect(Chat(bob).GetByRole(AriaRole.Alert)).ToContainTextAsync("closed");
            await Expect(input).ToHaveValueAsync("only once, please");

            network.GoOnline();
            await bob.UntilConnectedAsync(Timeouts.ReconnectMs);
            // The person sends it again: the same id, so the server answers with the original.
            await Chat(bob).GetByRole(AriaRole.Button, new() { Name = "Send", Exact = true }).ClickAsync();
            await Expect(input).ToHaveValueAsync("");
            Assert.Equal(["only once, please"], await StoredAsync(app.Server, room));

            // Once acknowledged, the id is done with: the same text again is a new message.
            await SendAsync(bob, "only once, please");
            Assert.Equal(["only once, please", "only once, please"], await StoredAsync(app.Server, room));
            await Expect(Messages(bob, room)).ToHaveCountAsync(2);
        }
        finally
        {
            await Screenshots.SaveAsync(bob.Page, "chat-send-again");
        }
        bob.AssertHealthy();
    }

    [Fact]
    public async Task WithoutCryptoRandomUuidMessagesAreSentWithIdsFromGetRandomValues()
    {
        var room = Unique("plain-http");
        // As on plain HTTP at a LAN address, where the page is not a secure context and has no randomUUID.
        await using var bob = await app.SignInAsync(Unique("bob"), "Bob", initScript: "delete Crypto.prototype.randomUUID;");
        try
        {
            Assert.Equal("undefined", await bob.Page.EvaluateAsync<string>("typeof crypto.randomUUID"));
            await JoinAsync(bob, room);
            await Chat(bob).GetByLabel("Message", new() { Exact = true }).FillAsync("sent without randomUUID");
            await Chat(bob).GetByRole(AriaRole.Button, new() { Name = "Send", Exact = true }).ClickAsync();
            var sent = Messages(bob, room).Or(Chat(bob).GetByRole(AriaRole.Alert));
            await Expect(sent).ToHaveCountAsync(1);
            Assert.Empty(await Chat(bob).GetByRole(AriaRole.Alert).AllTextContentsAsync());

            await Expect(Messages(bob, room).Locator(".message-text")).ToHaveTextAsync(["sent without randomUUID"]);
            await Expect(Messages(bob, room)).ToHaveAttributeAsync("data-id", new System.Text.RegularExpressions.Regex("^[0-9a-f]{32}$"));
        }
        finally
        {
            await Screenshots.SaveAsync(bob.Page, "chat-no-random-uuid");
        }
        bob.AssertHealthy();
    }
}
