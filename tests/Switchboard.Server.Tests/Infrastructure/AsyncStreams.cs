using Microsoft.AspNetCore.SignalR.Client;

namespace Switchboard.Server.Tests.Infrastructure;

/// <summary>Reading server-to-client streams in tests; callers bound the returned task with <c>DefaultTimeout()</c>.</summary>
public static class AsyncStreams
{
    /// <summary>Every item until the stream completes (or throws its error).</summary>
    public static async Task<List<T>> ToListAsync<T>(this IAsyncEnumerable<T> source)
    {
        var items = new List<T>();
        await foreach (var item in source)
        {
            items.Add(item);
        }
        return items;
    }

    /// <summary>
    /// The first <paramref name="count"/> items of a stream, then cancels it. (Leaving an
    /// <c>await foreach</c> over <c>StreamAsync</c> early does not tell the server: the official
    /// client only sends the cancellation when the token passed to the stream is cancelled.)
    /// </summary>
    public static async Task<List<T>> TakeAsync<T>(this HubConnection connection, string method, int count, params object?[] args)
    {
        using var cts = new CancellationTokenSource();
        var items = new List<T>(count);
        try
        {
            await foreach (var item in connection.StreamAsyncCore<T>(method, args, cts.Token))
            {
                items.Add(item);
                if (items.Count == count) break;
            }
        }
        finally
        {
            cts.Cancel();
        }
        return items;
    }
}
