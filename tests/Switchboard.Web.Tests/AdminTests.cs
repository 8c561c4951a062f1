using Microsoft.Playwright;
using Switchboard.Web.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace Switchboard.Web.Tests;

[Collection(WebAppCollection.Name)]
public sealed class AdminTests(WebAppFixture app)
{
    [Fact]
    public async Task TheAdminPageShowsConnectionsRoomsPresenceAndMessageRates()
    {
        var room = ChatTests.Unique("ops");
        var bobId = ChatTests.Unique("bob");
        await using var admin = await app.SignInAsync(ChatTests.Unique("admin"), "Ada", ["Admin"]);
        await using var bob = await app.SignInAsync(bobId, "Bob");
        try
        {
            foreach (var user in new[] { admin, bob })
            {
                var chat = user.Page.Locator("#page-chat");
                await chat.GetByLabel("Room name", new() { Exact = true }).FillAsync(room);
                await chat.GetByRole(AriaRole.Button, new() { Name = "Join" }).ClickAsync();
                await Expect(chat.GetByRole(AriaRole.Heading, new() { Name = $"# {room}" })).ToBeVisibleAsync();
            }
            var bobChat = bob.Page.Locator("#page-chat");
            await bobChat.GetByLabel("Message", new() { Exact = true }).FillAsync("status green");
            await bobChat.GetByRole(AriaRole.Button, new() { Name = "Send", Exact = true }).ClickAsync();

            await admin.GoToAsync("Admin");
            var page = admin.Page.Locator("#page-admin");
            var roomRow = page.Locator($"#admin-groups tr[data-group=\"{room}\"]");
            await Expect(roomRow.Locator("td").Nth(0)).ToHaveTextAsync("2");
            await Expect(page.Locator($"#admin-users tr[data-user-id=\"{bobId}\"]")).ToContainTextAsync("Bob");
            await Expect(page.Locator("#admin-connections tr").Filter(new() { HasText = bobId })).ToHaveCountAsync(3);
            await Expect(page.Locator("#stat-connections")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex("^[1-9][0-9]*$"));
            await Expect(page.Locator("#stat-messages-total")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex("^[1-9][0-9]*$"));
            // Rates need two readings; the page refreshes every 2 s.
            await Expect(page.Locator("#stat-invocation-rate")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex(@"^\d+\.\d$"));
        }
        finally
        {
            await Screenshots.SaveAsync(admin.Page, "admin");
        }
        admin.AssertHealthy();
        bob.AssertHealthy();
    }

    [Fact]
    public async Task WithoutAdminOrPublisherThereIsNoAdminPage()
    {
        await using var bob = await app.SignInAsync(ChatTests.Unique("bob"), "Bob");
        try
        {
            await Expect(bob.Page.GetByRole(AriaRole.Navigation).GetByRole(AriaRole.Link, new() { Name = "Admin" })).ToBeHiddenAsync();
            await bob.Page.GotoAsync("/#/admin");
            await Expect(bob.Page.GetByRole(AriaRole.Heading, new() { Name = "Chat", Level = 1 })).ToBeVisibleAsync();
            await Expect(bob.Page.Locator("#page-admin")).ToHaveCountAsync(0);
        }
        finally
        {
            await Screenshots.SaveAsync(bob.Page, "admin-absent");
        }
        bob.AssertHealthy();
    }
}
