using System.Collections.Concurrent;

namespace Switchboard.Server.Hubs;

/// <summary>
/// The answers this process waits for to cluster commands it sent with a reply id
/// (<see cref="Core.Cluster.ConnectionsFoundReply"/>): each request has its own id, counts the
/// connections its answers report, and completes once they reach what the request expects. An
/// answer to a request nobody waits for any more is dropped.
/// </summary>
public sealed class ClusterReplies
{
    private readonly ConcurrentDictionary<string, Request> _waiting = new(StringComparer.Ordinal);

    private sealed class Request(int expected)
    {
        private int _found;
        public readonly TaskCompletionSource Enough = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int Found => Volatile.Read(ref _found);

        public void Add(int count)
        {
            if (Interlocked.Add(ref _found, count) >= expected)
            {
                Enough.TrySetResult();
            }
        }
    }

    /// <summary>
    /// A new request id, and a task that completes once answers have reported
    /// <paramref name="expected"/> connections; call <see cref="Take"/> when done waiting.
    /// </summary>
    public (string Id, Task Enough) Expect(int expected)
    {
        var id = Guid.NewGuid().ToString("N");
        var request = new Request(expected);
        _waiting[id] = request;
        return (id, request.Enough.Task);
    }

    public void Answer(string id, int count)
    {
        if (_waiting.TryGetValue(id, out var request))
        {
            request.Add(count);
        }
    }

    /// <summary>Stops waiting for <paramref name="id"/>; returns the connections its answers reported.</summary>
    public int Take(string id) => _waiting.TryRemove(id, out var request) ? request.Found : 0;
}
