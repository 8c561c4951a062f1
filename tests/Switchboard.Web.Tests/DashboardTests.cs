using Microsoft.Playwright;
using Switchboard.Core.Streaming;
using Switchboard.Web.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace Switchboard.Web.Tests;

[Collection(WebAppCollection.Name)]
public sealed class DashboardTests(WebAppFixture app)
{
    private static ILocator Dashboard(UserPage user) => user.Page.Locator("#page-dashboard");

    [Fact]
    public async Task TheDashboardChartsPricesForThreeSymbolsAndStopsOnRequest()
    {
        await using var user = await app.SignInAsync(ChatTests.Unique("trader"), "Tess");
        var streams = app.Server.Get<ActiveStreams>();
        try
        {
            await user.GoToAsync("Dashboard");
            var dashboard = Dashboard(user);
            await dashboard.GetByLabel("Symbols (comma separated)", new() { Exact = true }).FillAsync("MSFT, AAPL, GOOG");
            await dashboard.Locator("#prices-start").ClickAsync();
            await Expect(dashboard.Locator("#prices-status")).ToHaveTextAsync("Streaming 3 symbols: MSFT, AAPL, GOOG.");

            // Two rounds for every symbol: prices keep coming, one per symbol per second.
            foreach (var symbol in new[] { "MSFT", "AAPL", "GOOG" })
            {
                await Expect(dashboard.Locator($"#prices-table tr[data-symbol={symbol}]"))
                    .ToHaveAttributeAsync("data-ticks", new System.Text.RegularExpressions.Regex("^[2-9]|[1-9][0-9]+$"));
            }
            await Expect(dashboard.Locator("#prices-chart canvas")).ToBeVisibleAsync();
            Assert.Equal(1, streams.Downloads);
            await Screenshots.SaveAsync(user.Page, "dashboard-prices");

            // Stop disposes the subscription; the server's loop ends.
            await dashboard.Locator("#prices-stop").ClickAsync();
            await Expect(dashboard.Locator("#prices-status")).ToHaveTextAsync("Stopped.");
            await Timeouts.Eventually(() => streams.Downloads == 0, "the server's price stream stopped");
            await Expect(dashboard.Locator("#prices-start")).ToBeEnabledAsync();
        }
        finally
        {
            await Screenshots.SaveAsync(user.Page, "dashboard-stopped");
        }
        user.AssertHealthy();
    }

    [Fact]
    public async Task TheCounterRunsToItsEndAndCanBeStopped()
    {
        await using var user = await app.SignInAsync(ChatTests.Unique("counter"), "Cody");
        var streams = app.Server.Get<ActiveStreams>();
        try
        {
            await user.GoToAsync("Dashboard");
            var dashboard = Dashboard(user);
            await dashboard.GetByLabel("Count", new() { Exact = true }).FillAsync("20");
            await dashboard.GetByLabel("Delay (ms)", new() { Exact = true }).FillAsync("10");
            await dashboard.Locator("#counter-start").ClickAsync();
            await Expect(dashboard.Locator("#counter-status")).ToHaveTextAsync("Completed: 20 numbers.");
            await Expect(dashboard.Locator("#counter-value")).ToHaveTextAsync("20 / 20");

            await dashboard.GetByLabel("Count", new() { Exact = true }).FillAsync("1000");
            await dashboard.GetByLabel("Delay (ms)", new() { Exact = true }).FillAsync("1000");
            await dashboard.Locator("#counter-start").ClickAsync();
            await Expect(dashboard.Locator("#counter-value")).ToHaveTextAsync("1 / 1000");
            await dashboard.Locator("#counter-stop").ClickAsync();
            await Expect(dashboard.Locator("#counter-status")).ToHaveTextAsync("Stopped.");
            await Timeouts.Eventually(() => streams.Downloads == 0, "the server's counter stream stopped");
        }
        finally
        {
            await Screenshots.SaveAsync(user.Page, "dashboard-counter");
        }
        user.AssertHealthy();
    }
}
