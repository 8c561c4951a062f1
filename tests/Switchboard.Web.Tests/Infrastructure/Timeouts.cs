namespace Switchboard.Web.Tests.Infrastructure;

/// <summary>Every wait in these tests is bounded by one of these, so nothing hangs.</summary>
public static class Timeouts
{
    /// <summary>One network step or one thing appearing on a page: generous for a loaded 2-core machine.</summary>
    public static readonly TimeSpan Network = TimeSpan.FromSeconds(15);

    /// <summary>Playwright's timeout for actions and assertions, in milliseconds.</summary>
    public const float PageMs = 15_000;

    /// <summary>A reconnect: the client's retry delays (up to 5 s) plus the resubscribe.</summary>
    public const float ReconnectMs = 25_000;

    /// <summary>Starting Playwright's driver or the browser.</summary>
    public static readonly TimeSpan ProcessStart = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Polls <paramref name="condition"/> every 20 ms until it holds, failing after <see cref="Network"/>.
    /// For state inside the server that raises no event.
    /// </summary>
    public static async Task Eventually(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Network;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"Timed out waiting until {what}.");
            await Task.Delay(20);
        }
    }

    /// <summary>
    /// Asks <paramref name="condition"/> every 20 ms until it holds, failing after <see cref="Network"/>.
    /// For state in another process (an HTTP route, Redis); each question is bounded too.
    /// </summary>
    public static async Task Eventually(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + Network;
        while (!await condition().WaitAsync(Network))
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"Timed out waiting until {what}.");
            await Task.Delay(20);
        }
    }
}
