using System.Collections.Concurrent;

namespace Switchboard.Server.Hubs;

/// <summary>
/// The answers this process waits for to cluster commands it sent with a reply id
/// (<see cref="Core.Cluster.ConnectionFoundReply"/>): each request has its own id, and an answer
/// to a request nobody waits for any more is dropped.
/// </summary>
public sealed class ClusterReplies
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _waiting = new(StringComparer.Ordinal);

    /// <summary>A new request id and the task its first answer completes; call <see cref="Forget"/> when done waiting.</summary>
    public (string Id, Task Answered) Expect()
    {
        var id = Guid.NewGuid().ToString("N");
        var answered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _waiting[id] = answered;
        return (id, answered.Task);
    }

    public void Answer(string id)
    {
        if (_waiting.TryGetValue(id, out var answered))
        {
            answered.TrySetResult();
        }
    }

    public void Forget(string id) => _waiting.TryRemove(id, out _);

    /// <summary>Requests still waiting (tests).</summary>
    internal int Waiting => _waiting.Count;
}
