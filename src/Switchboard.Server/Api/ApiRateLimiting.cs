using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using Switchboard.Contracts;
using Switchboard.Core.Diagnostics;
using Switchboard.Server.Authentication;
using Switchboard.Server.Hosting;

namespace Switchboard.Server.Api;

/// <summary>
/// The HTTP API's rate limit: a token bucket per caller (the token's <c>sub</c>; the remote
/// address for requests without a valid token), <c>Switchboard:Limits:HttpRequestsPerSecond</c>
/// refill and <c>HttpBurst</c> size. A refused request gets <c>429</c>, <c>Retry-After</c> and
/// problem details with the code <c>rate_limited</c>.
/// </summary>
public static class ApiRateLimiting
{
    public const string Policy = "api";

    public static IServiceCollection AddApiRateLimiting(this IServiceCollection services)
    {
        services.AddRateLimiter(limiter =>
        {
            limiter.AddPolicy(Policy, context =>
            {
                var limits = context.RequestServices.GetRequiredService<IOptions<SwitchboardOptions>>().Value.Limits;
                if (limits.HttpRequestsPerSecond <= 0)
                {
                    return RateLimitPartition.GetNoLimiter("off");
                }
                var caller = context.User.UserId() is { } userId
                    ? "user:" + userId
                    : "address:" + context.Connection.RemoteIpAddress;
                // Refill in small steps (ten a second when the rate allows) so a caller at the
                // sustained rate is not refused; below 10 per second, one token per 1/rate seconds.
                var rate = limits.HttpRequestsPerSecond;
                var perPeriod = rate >= 10 ? (int)Math.Round(rate / 10) : 1;
                return RateLimitPartition.GetTokenBucketLimiter(caller, _ => new TokenBucketRateLimiterOptions
                {
                    TokenLimit = limits.HttpBurst,
                    TokensPerPeriod = perPeriod,
                    ReplenishmentPeriod = TimeSpan.FromSeconds(perPeriod / rate),
                    QueueLimit = 0,
                    AutoReplenishment = true,
                });
            });
            limiter.OnRejected = async (rejected, cancellationToken) =>
            {
                var response = rejected.HttpContext.Response;
                var retryAfter = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromSeconds(1);
                response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
                rejected.HttpContext.RequestServices.GetRequiredService<SwitchboardMetrics>().Refused(ErrorCodes.RateLimited);
                var problem = ApiProblems.Problem(new(ErrorCodes.RateLimited, "Too many requests; retry after the time in Retry-After."));
                await problem.ExecuteAsync(rejected.HttpContext);
            };
        });
        return services;
    }
}
