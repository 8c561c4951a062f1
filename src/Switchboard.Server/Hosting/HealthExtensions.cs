using Microsoft.Extensions.Diagnostics.HealthChecks;
using Switchboard.Core.History;

namespace Switchboard.Server.Hosting;

/// <summary>
/// <c>/health/live</c>: the process answers. <c>/health/ready</c>: it can also serve, which means
/// its history store (and, when configured, Redis) answers. With Redis, a Redis outage reports
/// <c>Degraded</c> (HTTP 200): the process still serves its connections, and taking every
/// process out of a load balancer at once would help nobody. Both are anonymous (they reveal nothing but the status).
/// </summary>
public static class HealthExtensions
{
    public const string HistoryCheck = "history";

    public static WebApplicationBuilder AddSwitchboardHealth(this WebApplicationBuilder builder)
    {
        builder.Services.AddHealthChecks().AddCheck<HistoryHealthCheck>(HistoryCheck, tags: ["ready"]);
        return builder;
    }

    public static WebApplication MapSwitchboardHealth(this WebApplication app)
    {
        app.MapHealthChecks("/health/live", new() { Predicate = _ => false });
        app.MapHealthChecks("/health/ready", new() { Predicate = check => check.Tags.Contains("ready") });
        return app;
    }

    private sealed class HistoryHealthCheck(IHistoryStore history) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                // A read of a group no client can name ('$' is not allowed); reads never write.
                await history.GetPositionAsync("$health", cancellationToken).AsTask().WaitAsync(TimeSpan.FromSeconds(5), cancellationToken);
                return HealthCheckResult.Healthy();
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                return new HealthCheckResult(context.Registration.FailureStatus, "The history store does not answer.");
            }
        }
    }
}
