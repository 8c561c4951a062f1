using Microsoft.Playwright;
using Switchboard.Web.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace Switchboard.Web.Tests;

[Collection(WebAppCollection.Name)]
public sealed class ChatTests(WebAppFixture app)
{
    private static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid().ToString("N")[..8]}";

    private static async Task JoinAsync(UserPage user, string room)
    {
        await Chat(user).GetByLabel("Room name").FillAsync(room);
        await Chat(user).GetByRole(AriaRole.Button, new() { Name = "Join" }).ClickAsync();
        await Expect(Chat(user).GetByRole(AriaRole.Heading, new() { Name = $"# {room}" })).ToBeVisibleAsync();
    }

    private static async Task SendAsync(UserPage user, string text)
    {
        await Chat(user).GetByLabel("Message", new() { Exact = true }).FillAsync(text);
        await Chat(user).GetByRole(AriaRole.Button, new() { Name = "Send", Exact = true }).ClickAsync();
        await Expect(Chat(user).GetByLabel("Message", new() { Exact = true })).ToHaveValueAsync("");
    }

    private static ILocator Chat(UserPage user) => user.Page.Locator("#page-chat");

    private static ILocator Messages(UserPage user, string room) => user.Page.Locator($"ol.messages[data-room=\"{room}\"] li.message");

    private static ILocator Member(UserPage user, string userId) => user.Page.Locator($"#presence-list li[data-user-id=\"{userId}\"]");

    [Fact]
    public async Task TwoUsersChatBothWaysAndSeeEachOtherInPresence()
    {
        var room = Unique("lobby");
        await using var alice = await app.SignInAsync(Unique("alice"), "Alice", ["Admin"]);
        await using var bob = await app.SignInAsync(Unique("bob"), "Bob");
        var aliceId = await alice.Page.EvaluateAsync<string>("() => JSON.parse(atob(sessionStorage.getItem('switchboard.token').split('.')[1].replace(/-/g,'+').replace(/_/g,'/'))).sub");
        var bobId = await bob.Page.EvaluateAsync<string>("() => JSON.parse(atob(sessionStorage.getItem('switchboard.token').split('.')[1].replace(/-/g,'+').replace(/_/g,'/'))).sub");
        try
        {
            await JoinAsync(alice, room);
            await JoinAsync(bob, room);

            await Expect(Member(alice, bobId)).ToHaveAttributeAsync("data-online", "true");
            await Expect(Member(bob, aliceId)).ToHaveAttributeAsync("data-online", "true");

            await SendAsync(alice, "Hello Bob, welcome to the room.");
            await Expect(Messages(bob, room).Filter(new() { HasText = "Hello Bob, welcome to the room." })).ToHaveCountAsync(1);
            await SendAsync(bob, "Hi Alice! Glad to be here.");
            await Expect(Messages(alice, room).Filter(new() { HasText = "Hi Alice! Glad to be here." })).ToHaveCountAsync(1);
            await SendAsync(alice, "Private messages and broadcasts are on this page too.");
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
}
