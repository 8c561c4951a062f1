using Microsoft.Extensions.Options;
using Microsoft.Playwright;
using Switchboard.Server.Authentication;
using Switchboard.Web.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace Switchboard.Web.Tests;

[Collection(WebAppCollection.Name)]
public sealed class SignInTests(WebAppFixture app)
{
    [Fact]
    public async Task APastedTokenSignsInAndSignOutReturnsToTheSignInPage()
    {
        await using var user = await app.OpenAsync();
        var page = user.Page;
        try
        {
            await page.GotoAsync("/");
            await page.GetByLabel("Access token (JWT)", new() { Exact = true }).FillAsync(app.Server.Token(ChatTests.Unique("paula"), "Paula", "Publisher"));
            await page.GetByRole(AriaRole.Button, new() { Name = "Sign in with token" }).ClickAsync();
            await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Chat", Level = 1 })).ToBeVisibleAsync();
            await Expect(page.Locator("#account-name")).ToHaveTextAsync("Paula (Publisher)");
            await user.UntilConnectedAsync();
            // Publisher without Admin: the admin page, but no broadcast box.
            await Expect(page.GetByRole(AriaRole.Navigation).GetByRole(AriaRole.Link, new() { Name = "Admin" })).ToBeVisibleAsync();
            await Expect(page.Locator("#broadcast-form")).ToHaveCountAsync(0);

            await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
            await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Sign in to Switchboard" })).ToBeVisibleAsync();
            Assert.Null(await page.EvaluateAsync<string?>("() => sessionStorage.getItem('switchboard.token')"));
        }
        finally
        {
            await Screenshots.SaveAsync(page, "signin-after-sign-out");
        }
        user.AssertHealthy();
    }

    [Fact]
    public async Task ATokenTheServerRefusesIsNotAcceptedAndTheReasonIsShown()
    {
        var otherKey = new TokenIssuer(Options.Create(new JwtOptions { Key = "a-key-this-server-does-not-know-0123456789" }), TimeProvider.System);
        await using var user = await app.OpenAsync();
        var page = user.Page;
        var tokenBox = page.GetByLabel("Access token (JWT)", new() { Exact = true });
        var signIn = page.GetByRole(AriaRole.Button, new() { Name = "Sign in with token" });
        var outcome = page.Locator("#page-signin").GetByRole(AriaRole.Alert);
        try
        {
            await page.GotoAsync("/");
            await tokenBox.FillAsync("not a token");
            await signIn.ClickAsync();
            await Expect(outcome).ToContainTextAsync("That is not a JWT");

            await tokenBox.FillAsync(otherKey.Issue("mallory", "Mallory", ["Admin"]));
            await signIn.ClickAsync();
            await Expect(outcome).ToContainTextAsync("The server refused this token (401)");
            await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Sign in to Switchboard" })).ToBeVisibleAsync();
            await Expect(page.Locator("#nav")).ToBeHiddenAsync();
        }
        finally
        {
            await Screenshots.SaveAsync(page, "signin-refused");
        }
        Assert.Empty(user.PageErrors);
    }

    [Fact]
    public async Task EveryPageFitsAPhoneEveryControlHasALabelAndChatWorksByKeyboard()
    {
        await using var user = await app.SignInAsync(ChatTests.Unique("phone"), "Phoebe", ["Admin"], width: 390, height: 844);
        var page = user.Page;
        try
        {
            foreach (var name in new[] { "Notifications", "Dashboard", "Upload", "Admin", "Chat" })
            {
                await user.GoToAsync(name);
                await Expect(page.Locator("main h1:visible")).ToBeFocusedAsync();
                Assert.True(await page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= window.innerWidth"),
                    $"The {name} page scrolls sideways at 390 px.");
                var unlabelled = await page.EvaluateAsync<string[]>("""
                    () => [...document.querySelectorAll('main input, main textarea, main select')]
                        .filter(e => e.offsetParent !== null)
                        .filter(e => e.labels.length === 0 && !e.getAttribute('aria-label') && !e.getAttribute('aria-labelledby'))
                        .map(e => e.outerHTML)
                    """);
                Assert.Empty(unlabelled);
                await Screenshots.SaveAsync(page, $"phone-{name.ToLowerInvariant()}");
            }

            // Keyboard only: Tab to the room field, join with Enter, Tab to the message, send with Enter.
            var room = ChatTests.Unique("keys");
            await TabToAsync(page, "room-name");
            await page.Keyboard.PressAsync("Control+A");
            await page.Keyboard.TypeAsync(room);
            await page.Keyboard.PressAsync("Enter");
            await Expect(page.GetByRole(AriaRole.Heading, new() { Name = $"# {room}" })).ToBeVisibleAsync();
            await TabToAsync(page, "message-text");
            await page.Keyboard.TypeAsync("typed without a mouse");
            await page.Keyboard.PressAsync("Enter");
            await Expect(page.Locator($"ol.messages[data-room=\"{room}\"] li.message")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex("typed without a mouse"));
            await Screenshots.SaveAsync(page, "phone-chat-keyboard");
        }
        finally
        {
            await Screenshots.SaveAsync(page, "phone-last");
        }
        user.AssertHealthy();
    }

    /// <summary>Presses Tab until the element with <paramref name="id"/> has the focus, at most 60 times.</summary>
    private static async Task TabToAsync(IPage page, string id)
    {
        for (var i = 0; i < 60; i++)
        {
            if (await page.EvaluateAsync<string?>("() => document.activeElement?.id") == id) return;
            await page.Keyboard.PressAsync("Tab");
        }
        Assert.Fail($"#{id} cannot be reached with Tab.");
    }
}
