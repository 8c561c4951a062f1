using System.Collections.Concurrent;
using Microsoft.Playwright;

namespace Switchboard.Web.Tests.Infrastructure;

/// <summary>One person's browser: a context of its own with one page, and what the page logged.</summary>
public sealed class UserPage : IAsyncDisposable
{
    public UserPage(IBrowserContext context, IPage page)
    {
        Context = context;
        Page = page;
        page.Console += (_, message) => { if (message.Type is "error" or "warning") ConsoleErrors.Enqueue(message.Text); };
        page.PageError += (_, error) => PageErrors.Enqueue(error);
    }

    public IBrowserContext Context { get; }
    public IPage Page { get; }

    /// <summary>Console errors and warnings (SignalR logs failed reconnect attempts here).</summary>
    public ConcurrentQueue<string> ConsoleErrors { get; } = new();

    /// <summary>Uncaught exceptions in the page.</summary>
    public ConcurrentQueue<string> PageErrors { get; } = new();

    /// <summary>All of the page's hub connections are up (the banner's state, also on &lt;html data-connection&gt;).</summary>
    public Task UntilConnectedAsync(float timeoutMs = Timeouts.PageMs) =>
        Assertions.Expect(Page.Locator("html")).ToHaveAttributeAsync("data-connection", "connected", new() { Timeout = timeoutMs });

    public Task GoToAsync(string pageName) => Page.GetByRole(AriaRole.Navigation).GetByRole(AriaRole.Link, new() { Name = pageName }).ClickAsync();

    /// <summary>No uncaught exception and no Content-Security-Policy refusal happened on the page.</summary>
    public void AssertHealthy()
    {
        Assert.Empty(PageErrors);
        Assert.DoesNotContain(ConsoleErrors, m => m.Contains("Content Security Policy", StringComparison.OrdinalIgnoreCase));
    }

    public ValueTask DisposeAsync() => new(Context.CloseAsync());
}
