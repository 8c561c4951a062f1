using System.Collections.Concurrent;

namespace Switchboard.Server.Hubs;

/// <summary>
/// The answers this process waits for to cluster commands it sent with a reply id
/// (<see cref="Core.Cluster.ConnectionsFoundReply"/>, one from each process the command reached):
/// each request has its own id, sums the connections its answers report, and is done once every
/// process it reached has answered, or once the answers report as many connections as it looks
/// for. An answer to a request nobody waits for any more is dropped.
/// </summary>
public sealed class ClusterReplies
{
    private readonly ConcurrentDictionary<string, Request> _waiting = new(StringComparer.Ordinal);

    /// <summary>One request's answers; its methods may run on any thread, in any order.</summary>
    public sealed class Request
    {
        private readonly Lock _lock = new();
        private readonly int _enoughFound;
        private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _answers;
        private int _found;
        private int? _reached;

        internal Request(string id, int enoughFound) => (Id, _enoughFound) = (id, enoughFound);

        /// <summary>The reply id to send with the command.</summary>
        public string Id { get; }

        /// <summary>Completes once every process reached has answered, or enough connections were found.</summary>
        public Task Done => _done.Task;

        /// <summary>The connections the answers so far reported.</summary>
        public int Found
        {
            get
            {
                lock (_lock) return _found;
            }
        }

        /// <summary>How many processes the command reached (known once it was sent; answers may come before).</summary>
        public void Reached(int processes)
        {
            lock (_lock)
            {
                _reached = processes;
                CompleteIfDone();
            }
        }

        internal void Answer(int count)
        {
            lock (_lock)
            {
                _answers++;
                _found += count;
                CompleteIfDone();
            }
        }

        private void CompleteIfDone()
        {
            if (_found >= _enoughFound || _answers >= _reached)
            {
                _done.TrySetResult();
            }
        }
    }

    /// <summary>
    /// A new request. It is done early once its answers report <paramref name="enoughFound"/>
    /// connections (a close by id looks for one); call <see cref="Take"/> when done waiting.
    /// </summary>
    public Request Expect(int enoughFound = int.MaxValue)
    {
        var request = new Request(Guid.NewGuid().ToString("N"), enoughFound);
        _waiting[request.Id] = request;
        return request;
    }

    /// <summary>One process's answer to request <paramref name="id"/>: it holds <paramref name="count"/> of the connections.</summary>
    public void Answer(string id, int count)
    {
        if (_waiting.TryGetValue(id, out var request))
        {
            request.Answer(count);
        }
    }

    /// <summary>Stops waiting for <paramref name="request"/>; returns the connections its answers reported.</summary>
    public int Take(Request request)
    {
        _waiting.TryRemove(request.Id, out _);
        return request.Found;
    }
}
