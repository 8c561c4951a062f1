using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;
using Switchboard.Contracts;
using Switchboard.Core.Diagnostics;
using Switchboard.Server.Hosting;

namespace Switchboard.Server.Hubs;

/// <summary>
/// A token bucket per connection for hub invocations: <c>Switchboard:Limits:InvocationsPerSecond</c>
/// refill, <c>InvocationBurst</c> capacity. An invocation over the limit is refused with
/// <c>rate_limited</c>; after <c>ViolationsBeforeClose</c> refusals in a row the connection is
/// closed with the reason <c>rate_limited</c>, so a flooding client cannot keep the server busy
/// refusing it. Stream items of an upload are not invocations and are not counted.
/// </summary>
internal sealed class RateLimitFilter(IOptions<SwitchboardOptions> options, ConnectionRegistry registry,
    SwitchboardMetrics metrics, TimeProvider time) : IHubFilter
{
    private static readonly object BucketKey = new();

    public async ValueTask<object?> InvokeMethodAsync(HubInvocationContext invocationContext,
        Func<HubInvocationContext, ValueTask<object?>> next)
    {
        var limits = options.Value.Limits;
        if (limits.InvocationsPerSecond > 0)
        {
            var context = invocationContext.Context;
            var bucket = (Bucket)(context.Items.TryGetValue(BucketKey, out var existing) && existing is Bucket b
                ? b
                : context.Items[BucketKey] = new Bucket(limits.InvocationBurst, time.GetTimestamp()));
            if (!bucket.TryTake(limits, time))
            {
                if (bucket.Violations >= limits.ViolationsBeforeClose)
                {
                    _ = registry.CloseAsync(context.ConnectionId,
                        $"{ErrorCodes.RateLimited}: Too many invocations; the connection was closed.");
                }
                metrics.Refused(ErrorCodes.RateLimited);
                throw new SwitchboardError(ErrorCodes.RateLimited,
                    $"More than {limits.InvocationsPerSecond} invocations per second (bursts of {limits.InvocationBurst}); slow down.").ToHubException();
            }
        }
        return await next(invocationContext);
    }

    /// <summary>
    /// One connection's bucket. SignalR runs one invocation of a connection at a time by default,
    /// but a client may raise MaximumParallelInvocationsPerClient, so the bucket locks.
    /// </summary>
    private sealed class Bucket(double tokens, long stamp)
    {
        private double _tokens = tokens;
        private long _stamp = stamp;

        public int Violations { get; private set; }

        public bool TryTake(LimitsOptions limits, TimeProvider time)
        {
            lock (this)
            {
                var now = time.GetTimestamp();
                _tokens = Math.Min(limits.InvocationBurst,
                    _tokens + time.GetElapsedTime(_stamp, now).TotalSeconds * limits.InvocationsPerSecond);
                _stamp = now;
                if (_tokens >= 1)
                {
                    _tokens -= 1;
                    Violations = 0;
                    return true;
                }
                Violations++;
                return false;
            }
        }
    }
}
