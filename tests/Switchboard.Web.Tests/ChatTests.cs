using Microsoft.Playwright;
using Switchboard.Web.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace Switchboard.Web.Tests;

[Collection(WebAppCollection.Name)]
public sealed class ChatTests(WebAppFixture app)
{
    internal static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid().ToString("N")[..8]}";

    internal static async Task JoinAsync(UserPage user, string room)
    {
        await Chat(user).GetByLabel("Room name", new() { Exact = true }).FillAsync(room);
        await Chat(user).GetByRole(AriaRole.Button, new() { Name = "Join" }).ClickAsync();
        await Expect(Chat(user).GetByRole(AriaRole.Heading, new() { Name = $"# {room}" })).ToBeVisibleAsync();
    }

    internal static async Task SendAsync(UserPage user, string text)
    {
        await Chat(user).GetByLabel("Message", new() { Exact = true }).FillAsync(text);
        await Chat(user).GetByRole(AriaRole.Button, new() { Name = "Send", Exact = true }).ClickAsync();
        await Expect(Chat(user).GetByLabel("Message", new() { Exact = true })).ToHaveValueAsync("");
    }

    internal static ILocator Chat(UserPage user) => user.Page.Locator("#page-chat");

    internal static ILocator Messages(UserPage user, string room) => user.Page.Locator($"ol.messages[data-room=\"{room}\"] li.message");

    private static ILocator Member(UserPage user, string userId) => user.Page.Locator($"#presence-list li[data-user-id=\"{userId}\"]");

    [Fact]
    public async Task TwoUsersChatBothWaysAndSeeEachOtherInPresence()
    {
        var room = Unique("lobby");
        var (aliceId, bobId) = (Unique("alice"), Unique("bob"));
        await using var alice = await app.SignInAsync(aliceId, "Alice", ["Admin"]);
        await using var bob = await app.SignInAsync(bobId, "Bob");
        try
        {
            await JoinAsync(alice, room);
            await SendAsync(alice, "Morning! Anyone around?");

            // Bob joins later and gets the room's recent history first.
            await JoinAsync(bob, room);
            await Expect(Messages(bob, room)).ToHaveCountAsync(1);
            await Expect(Messages(bob, room).Locator(".message-text")).ToHaveTextAsync("Morning! Anyone around?");

            await Expect(Member(alice, bobId)).ToHaveAttributeAsync("data-online", "true");
            await Expect(Member(bob, aliceId)).ToHaveAttributeAsync("data-online", "true");

            await SendAsync(bob, "Hi Alice! Just got here.");
            await Expect(Messages(alice, room).Filter(new() { HasText = "Hi Alice! Just got here." })).ToHaveCountAsync(1);
            await SendAsync(alice, "Welcome, Bob. The demo is at three.");
            await Expect(Messages(bob, room).Filter(new() { HasText = "Welcome, Bob. The demo is at three." })).ToHaveCountAsync(1);
            await Expect(Messages(bob, room)).ToHaveCountAsync(3);
            await Expect(Messages(alice, room)).ToHaveCountAsync(3);
            await Expect(Messages(alice, room).Nth(1).Locator(".sender")).ToHaveTextAsync("Bob");
        }
        finally
        {
            await Screenshots.SaveAsync(alice.Page, "chat-alice");
            await Screenshots.SaveAsync(bob.Page, "chat-bob");
        }
        alice.AssertHealthy();
        bob.AssertHealthy();
    }

    [Fact]
    public async Task AUserWhoWasOfflineSeesTheMissedMessagesExactlyOnce()
    {
        var room = Unique("recovery");
        await using var network = new CuttableNetwork(app.Server.BaseUrl);
        var bobId = Unique("bob");
        await using var alice = await app.SignInAsync(Unique("alice"), "Alice");
        await using var bob = await app.SignInAsync(bobId, "Bob", through: network.BaseUrl);
        try
        {
            await JoinAsync(alice, room);
            await JoinAsync(bob, room);
            await SendAsync(alice, "before 1");
            await Expect(Messages(bob, room)).ToHaveCountAsync(1);
            await Expect(Member(alice, bobId)).ToHaveAttributeAsync("data-online", "true");

            // Bob's network drops: his page says so, and Alice sees him go offline.
            network.GoOffline();
            await Expect(bob.Page.Locator("#connection-banner")).ToContainTextAsync("Reconnecting");
            await Expect(Member(alice, bobId)).ToHaveAttributeAsync("data-online", "false");

            for (var i = 1; i <= 3; i++) await SendAsync(alice, $"missed {i}");

            network.GoOnline();
            await bob.UntilConnectedAsync(Timeouts.ReconnectMs);
            await Expect(bob.Page.Locator("#connection-banner")).ToContainTextAsync("Reconnected");
            await Expect(Member(alice, bobId)).ToHaveAttributeAsync("data-online", "true");

            await Expect(Messages(bob, room)).ToHaveCountAsync(4);
            var texts = await Messages(bob, room).Locator(".message-text").AllTextContentsAsync();
            Assert.Equal(["before 1", "missed 1", "missed 2", "missed 3"], texts);

            await SendAsync(alice, "after");
            await Expect(Messages(bob, room)).ToHaveCountAsync(5);
        }
        finally
        {
            await Screenshots.SaveAsync(bob.Page, "chat-recovered");
        }
        alice.AssertHealthy();
        bob.AssertHealthy();
    }

    [Fact]
    public async Task AnAdminBroadcastShowsAsAToast()
    {
        await using var admin = await app.SignInAsync(Unique("admin"), "Ada", ["Admin"]);
        await using var bob = await app.SignInAsync(Unique("bob"), "Bob");
        try
        {
            // Only the Admin role gets the box (the server checks the role too).
            await Expect(Chat(bob).GetByRole(AriaRole.Heading, new() { Name = "Admin broadcast" })).ToHaveCountAsync(0);

            await Chat(admin).GetByLabel("Message to everyone signed in", new() { Exact = true }).FillAsync("Maintenance at 18:00, back by 18:05.");
            await Chat(admin).GetByRole(AriaRole.Button, new() { Name = "Send broadcast" }).ClickAsync();

            var toast = bob.Page.Locator("#toasts .toast").Filter(new() { HasText = "Maintenance at 18:00, back by 18:05." });
            await Expect(toast).ToBeVisibleAsync();
            await Expect(toast.Locator(".toast-title")).ToHaveTextAsync("Admin broadcast");
            await Expect(admin.Page.Locator("#toasts .toast").Filter(new() { HasText = "Maintenance at 18:00" })).ToBeVisibleAsync();
            await Screenshots.SaveAsync(bob.Page, "chat-admin-toast");

            // The toast has a real button to dismiss it.
            await toast.GetByRole(AriaRole.Button).ClickAsync();
            await Expect(toast).ToHaveCountAsync(0);
        }
        finally
        {
            await Screenshots.SaveAsync(admin.Page, "chat-admin-broadcast");
        }
        admin.AssertHealthy();
        bob.AssertHealthy();
    }

    [Fact]
    public async Task APrivateMessageReachesItsRecipientOnlyAndIsStillThereAfterAReload()
    {
        var bobId = Unique("bob");
        await using var alice = await app.SignInAsync(Unique("alice"), "Alice");
        await using var bob = await app.SignInAsync(bobId, "Bob");
        await using var carol = await app.SignInAsync(Unique("carol"), "Carol");
        try
        {
            await Chat(alice).GetByLabel("To (user id)", new() { Exact = true }).FillAsync(bobId);
            await Chat(alice).GetByLabel("Private message", new() { Exact = true }).FillAsync("Just between us: the demo is at 3.");
            await Chat(alice).GetByRole(AriaRole.Button, new() { Name = "Send privately" }).ClickAsync();
            await Expect(Chat(alice).Locator("#private-messages li[data-direction=to]")).ToContainTextAsync("Just between us");

            var received = Chat(bob).Locator("#private-messages li[data-direction=from]");
            await Expect(received).ToHaveCountAsync(1);
            await Expect(received.Locator(".sender")).ToHaveTextAsync("From Alice");
            await Expect(received.Locator(".message-text")).ToHaveTextAsync("Just between us: the demo is at 3.");

            // Stored in Bob's private channel: a reload shows it again, once.
            await bob.Page.ReloadAsync();
            await bob.UntilConnectedAsync();
            await Expect(Chat(bob).Locator("#private-messages li[data-direction=from]")).ToHaveCountAsync(1);

            await Expect(Chat(carol).Locator("#private-messages li")).ToHaveCountAsync(0);
        }
        finally
        {
            await Screenshots.SaveAsync(bob.Page, "chat-private");
        }
        alice.AssertHealthy();
        bob.AssertHealthy();
        carol.AssertHealthy();
    }

    [Fact]
    public async Task LeavingARoomStopsItsMessagesAndErrorsAreShownWithTheirCode()
    {
        var room = Unique("leave");
        await using var alice = await app.SignInAsync(Unique("alice"), "Alice");
        await using var bob = await app.SignInAsync(Unique("bob"), "Bob");
        try
        {
            await JoinAsync(alice, room);
            await JoinAsync(bob, room);
            await Chat(bob).GetByRole(AriaRole.Button, new() { Name = $"Leave {room}" }).ClickAsync();
            await Expect(Chat(bob).Locator($"#room-list li[data-room=\"{room}\"]")).ToHaveCountAsync(0);
            await Expect(Chat(bob).GetByRole(AriaRole.Heading, new() { Name = "Join a room to start" })).ToBeVisibleAsync();

            // A refused join says why, with the server's code.
            await Chat(bob).GetByLabel("Room name", new() { Exact = true }).FillAsync("user:alice");
            await Chat(bob).GetByRole(AriaRole.Button, new() { Name = "Join" }).ClickAsync();
            await Expect(Chat(bob).GetByRole(AriaRole.Alert)).ToContainTextAsync("group_name_reserved");
        }
        finally
        {
            await Screenshots.SaveAsync(bob.Page, "chat-leave");
        }
        alice.AssertHealthy();
        bob.AssertHealthy();
    }
}
