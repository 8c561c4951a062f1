using Microsoft.Playwright;
using Switchboard.Server.Web;

namespace Switchboard.Web.Tests.Infrastructure;

/// <summary>
/// One server (Development, real Kestrel on 127.0.0.1) and one headless Debian chromium driven by
/// Playwright, shared by the browser tests. The browser is never downloaded: Playwright is told
/// so and launches /usr/bin/chromium, which test.sh installs.
/// </summary>
public sealed class WebAppFixture : IAsyncLifetime
{
    public const string Chromium = "/usr/bin/chromium";

    public WebAppServer Server { get; } = new();
    public IPlaywright Playwright { get; private set; } = null!;
    public IBrowser Browser { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Environment.SetEnvironmentVariable("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1");
        Assertions.SetDefaultExpectTimeout(Timeouts.PageMs);
        _ = Server.BaseUrl;
        // Starting Playwright's driver and the browser are process starts, slow while the other
        // test projects build and run beside these: a minute each.
        Playwright = await Microsoft.Playwright.Playwright.CreateAsync().WaitAsync(Timeouts.ProcessStart);
        Browser = await Playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            Timeout = (float)Timeouts.ProcessStart.TotalMilliseconds,
        });
    }

    public async Task DisposeAsync()
    {
        await Browser.CloseAsync();
        Playwright.Dispose();
        await Server.DisposeAsync();
    }

    /// <summary>
    /// A new browser context (its own storage, like another person's browser), signed in through the development sign-in:
    /// on the shared server, or on <paramref name="server"/> (opened at <paramref name="through"/> when that is a relay to it).
    /// </summary>
    public async Task<UserPage> SignInAsync(string userId, string name, string[]? roles = null, int width = 1100, int height = 760,
        string? through = null, WebAppServer? server = null, string? initScript = null)
    {
        server ??= Server;
        var user = await OpenAsync(width, height, through ?? server.BaseUrl, initScript);
        var page = user.Page;
        await page.GotoAsync("/");
        await page.GetByLabel("User id", new() { Exact = true }).FillAsync(userId);
        await page.GetByLabel("Display name", new() { Exact = true }).FillAsync(name);
        foreach (var role in new[] { "Admin", "Publisher" })
        {
            await page.GetByRole(AriaRole.Checkbox, new() { Name = role }).SetCheckedAsync(roles?.Contains(role) == true);
        }
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in (development)" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Chat", Level = 1 })).ToBeVisibleAsync();
        await user.UntilConnectedAsync();
        // The page is connected once the server has run OnConnected for its three connections:
        // only then do sends to everyone, a user or a group reach it.
        var catalog = server.Get<ConnectionCatalog>();
        await Timeouts.Eventually(() => catalog.Connections.Count(c => c.UserId == userId) >= 3, $"{userId}'s page is registered");
        return user;
    }

    /// <summary>
    /// A new browser context on no page yet; <paramref name="through"/> is another address of the server (a <see cref="CuttableNetwork"/>).
    /// <paramref name="initScript"/> runs in every page of the context before the page's own scripts.
    /// </summary>
    public async Task<UserPage> OpenAsync(int width = 1100, int height = 760, string? through = null, string? initScript = null)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            ViewportSize = new ViewportSize { Width = width, Height = height },
            BaseURL = through ?? Server.BaseUrl,
        });
        context.SetDefaultTimeout(Timeouts.PageMs);
        context.SetDefaultNavigationTimeout(Timeouts.PageMs);
        if (initScript is not null) await context.AddInitScriptAsync(initScript);
        var page = await context.NewPageAsync();
        return new UserPage(context, page);
    }
}

[CollectionDefinition(Name)]
public sealed class WebAppCollection : ICollectionFixture<WebAppFixture>
{
    /// <summary>One browser and one server; the tests in it run one after another.</summary>
    public const string Name = "web app";
}
