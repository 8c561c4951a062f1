namespace Switchboard.Core.Tests;

/// <summary>Every await in these tests is bounded by one of these, so a hang fails instead of stalling the run.</summary>
public static class TestTimeouts
{
    /// <summary>Generous for a loaded 2-core CI machine; a passing test never comes close.</summary>
    public static readonly TimeSpan Default = TimeSpan.FromSeconds(15);

    public static Task<T> DefaultTimeout<T>(this Task<T> task) => task.WaitAsync(Default);

    public static Task DefaultTimeout(this Task task) => task.WaitAsync(Default);

    public static Task<T> DefaultTimeout<T>(this ValueTask<T> task) => task.AsTask().WaitAsync(Default);

    public static Task DefaultTimeout(this ValueTask task) => task.AsTask().WaitAsync(Default);

    /// <summary>Polls <paramref name="condition"/> every 20 ms until it holds, failing after <see cref="Default"/>.</summary>
    public static async Task Eventually(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + Default;
        while (!await condition().DefaultTimeout())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out waiting until {what}.");
            }
            await Task.Delay(20);
        }
    }
}
