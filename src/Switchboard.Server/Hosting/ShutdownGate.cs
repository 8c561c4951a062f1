using System.Globalization;
using Switchboard.Contracts;

namespace Switchboard.Server.Hosting;

/// <summary>
/// Once the server is stopping (SIGTERM, <c>systemctl stop</c>), SignalR closes every hub
/// connection, and Kestrel then waits for the requests still open before the process may exit.
/// A client that reconnects at once (automatic reconnect) could open a new hub connection in
/// between, which nobody closes: Kestrel would wait for it until its shutdown timeout (30 s).
/// So after the stop signal, hub requests (negotiate and connect) are answered 503
/// <c>unavailable</c> with Retry-After, and a hub connection that completes its connect anyway
/// is closed at once; a client retries, against this server once it is back or another node.
/// </summary>
internal static class ShutdownGate
{
    public static readonly SwitchboardError Stopping = new(ErrorCodes.Unavailable,
        "This server is shutting down; retry later or connect to another node.");

    public static WebApplication UseShutdownGate(this WebApplication app)
    {
        app.UseShutdownGate(app.Lifetime.ApplicationStopping);
        return app;
    }

    /// <summary>The gate for a given stop signal (tests raise it without stopping the host).</summary>
    internal static IApplicationBuilder UseShutdownGate(this IApplicationBuilder app, CancellationToken stopping)
    {
        app.UseWhen(context => stopping.IsCancellationRequested && context.Request.Path.StartsWithSegments(HubRoutes.Prefix),
            refused => refused.Run(async context =>
            {
                context.Response.Headers.RetryAfter = Unavailability.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
                await Api.ApiProblems.Problem(Stopping, StatusCodes.Status503ServiceUnavailable).ExecuteAsync(context);
            }));
        return app;
    }
}
