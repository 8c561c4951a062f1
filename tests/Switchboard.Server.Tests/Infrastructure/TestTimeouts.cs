namespace Switchboard.Server.Tests.Infrastructure;

/// <summary>Every awaited network step in the tests is bounded by one of these, so nothing hangs.</summary>
public static class TestTimeouts
{
    /// <summary>A single network round trip or event: generous for a loaded 2-core CI machine.</summary>
    public static readonly TimeSpan Network = TimeSpan.FromSeconds(15);

    /// <summary>Awaits <paramref name="task"/> for at most <see cref="Network"/>.</summary>
    public static Task<T> DefaultTimeout<T>(this Task<T> task) => task.WaitAsync(Network);

    public static Task DefaultTimeout(this Task task) => task.WaitAsync(Network);

    /// <summary>
    /// Polls <paramref name="condition"/> every 20 ms until it holds, failing after <see cref="Network"/>.
    /// For state with no event to wait on (counters inside the server).
    /// </summary>
    public static async Task Eventually(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Network;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out waiting until {what}.");
            }
            await Task.Delay(20);
        }
    }
}
