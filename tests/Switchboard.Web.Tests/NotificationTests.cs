using Microsoft.Playwright;
using Switchboard.Web.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace Switchboard.Web.Tests;

[Collection(WebAppCollection.Name)]
public sealed class NotificationTests(WebAppFixture app)
{
    private static ILocator Notifications(UserPage user) => user.Page.Locator("#page-notifications");

    private static ILocator Toast(UserPage user, string text) => user.Page.Locator("#toasts .toast").Filter(new() { HasText = text });

    private static async Task SendAsync(UserPage publisher, string audience, string? target, string message)
    {
        var page = Notifications(publisher);
        await page.GetByRole(AriaRole.Radio, new() { Name = audience }).CheckAsync();
        if (target is not null) await page.Locator("#notify-target").FillAsync(target);
        await page.GetByLabel("Message", new() { Exact = true }).FillAsync(message);
        await page.GetByRole(AriaRole.Button, new() { Name = "Send notification" }).ClickAsync();
    }

    [Fact]
    public async Task APublisherNotifiesEveryoneAUserAndAGroupThroughTheHttpApiAndEachArrivesAsAToast()
    {
        var bobId = ChatTests.Unique("bob");
        var group = ChatTests.Unique("ops");
        await using var publisher = await app.SignInAsync(ChatTests.Unique("pub"), "Pat", ["Publisher"]);
        await using var bob = await app.SignInAsync(bobId, "Bob");
        try
        {
            await bob.GoToAsync("Notifications");
            // Without Admin or Publisher there is no form: the HTTP API would refuse it.
            await Expect(Notifications(bob).GetByRole(AriaRole.Button, new() { Name = "Send notification" })).ToHaveCountAsync(0);
            await Notifications(bob).GetByLabel("Group name", new() { Exact = true }).FillAsync(group);
            await Notifications(bob).GetByRole(AriaRole.Button, new() { Name = "Listen" }).ClickAsync();
            await Expect(Notifications(bob).Locator("#notification-groups li")).ToContainTextAsync(group);

            await publisher.GoToAsync("Notifications");
            await SendAsync(publisher, "Everyone", null, "Deploy 42 finished.");
            await Expect(Notifications(publisher).Locator(".outcome.ok")).ToHaveTextAsync("Sent to everyone.");
            await Expect(Toast(bob, "Deploy 42 finished.")).ToBeVisibleAsync();

            await SendAsync(publisher, "A user", bobId, "Bob, your report is ready.");
            await Expect(Toast(bob, "Bob, your report is ready.")).ToBeVisibleAsync();
            await Expect(Toast(publisher, "Bob, your report is ready.")).ToHaveCountAsync(0);

            await SendAsync(publisher, "A group", group, "Disk almost full on node 3.");
            await Expect(Toast(bob, "Disk almost full on node 3.")).ToBeVisibleAsync();
            await Expect(Notifications(bob).Locator("#notification-list li")).ToHaveCountAsync(3);

            // A refusal shows the API's code and sentence.
            await SendAsync(publisher, "A group", "not a group", "Hello");
            await Expect(Notifications(publisher).GetByRole(AriaRole.Alert)).ToContainTextAsync("group_name_invalid");
        }
        finally
        {
            await Screenshots.SaveAsync(publisher.Page, "notifications-publisher");
            await Screenshots.SaveAsync(bob.Page, "notifications-toasts");
        }
        publisher.AssertHealthy();
        bob.AssertHealthy();
    }
}
