using Microsoft.Extensions.DependencyInjection.Extensions;
using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Http.HttpResults;
using OpenTelemetry.Metrics;
using Switchboard.Core.Diagnostics;
using Switchboard.Core.Streaming;
using Switchboard.Server.Hubs;

namespace Switchboard.Server.Hosting;

/// <summary>
/// Metrics: Switchboard's meter plus ASP.NET Core's own (hosting, Kestrel, SignalR connections)
/// and the runtime's, exported for Prometheus at <c>/metrics</c>. The endpoint is anonymous, like
/// the health checks: it holds counts, never names, ids or message bodies.
/// </summary>
public static class MetricsExtensions
{
    public static WebApplicationBuilder AddSwitchboardMetrics(this WebApplicationBuilder builder)
    {
        builder.Services.TryAddSingleton<SwitchboardMetrics>();
        builder.Services.AddSingleton<ServerGauges>();
        builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddMeter(SwitchboardMetrics.MeterName,
                "Microsoft.AspNetCore.Hosting",
                "Microsoft.AspNetCore.Server.Kestrel",
                "Microsoft.AspNetCore.Http.Connections",
                "Microsoft.AspNetCore.SignalR",
                "System.Runtime")
            .AddPrometheusExporter(prometheus => prometheus.ScrapeResponseCacheDurationMilliseconds = 0));
        return builder;
    }

    public static WebApplication MapSwitchboardMetrics(this WebApplication app)
    {
        app.Services.GetRequiredService<ServerGauges>(); // create the observable instruments now
        app.MapPrometheusScrapingEndpoint("/metrics");
        return app;
    }

    /// <summary>Counts every refusal an HTTP route answers with (problem details carrying a code).</summary>
    public static TBuilder CountRefusals<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.AddEndpointFilter(async (context, next) =>
        {
            var result = await next(context);
            if (result is INestedHttpResult { Result: ProblemHttpResult problem } &&
                problem.ProblemDetails.Extensions.TryGetValue("code", out var code) && code is string text)
            {
                context.HttpContext.RequestServices.GetRequiredService<SwitchboardMetrics>().Refused(text);
            }
            return result;
        });

    /// <summary>Gauges read when Prometheus scrapes: open connections and running streams of this process.</summary>
    private sealed class ServerGauges
    {
        public ServerGauges(IMeterFactory meterFactory, ConnectionRegistry connections, ActiveStreams streams)
        {
            var meter = meterFactory.Create(SwitchboardMetrics.MeterName);
            meter.CreateObservableUpDownCounter("switchboard.connections", () => connections.Count, "{connection}",
                "Open hub connections of this process, all hubs.");
            meter.CreateObservableUpDownCounter("switchboard.streams.active", () => new[]
            {
                new Measurement<int>(streams.Downloads, new KeyValuePair<string, object?>("direction", "download")),
                new Measurement<int>(streams.Uploads, new KeyValuePair<string, object?>("direction", "upload")),
            }, "{stream}", "Server-side stream loops running now.");
        }
    }
}
