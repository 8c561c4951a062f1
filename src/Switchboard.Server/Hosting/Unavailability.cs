using Microsoft.AspNetCore.Diagnostics;
using Microsoft.Net.Http.Headers;
using Switchboard.Contracts;
using Switchboard.Server.Api;

namespace Switchboard.Server.Hosting;

/// <summary>
/// What a client is told when a service the cluster shares (Redis) is unreachable: the stable
/// code <c>unavailable</c>, on the HTTP API as 503 with <c>Retry-After</c>, on hubs as a
/// <c>HubException</c>. Recognised by the exception's namespace, so nothing about Redis is
/// loaded where Redis is not configured.
/// </summary>
internal static class Unavailability
{
    /// <summary>Seconds a client is asked to wait before retrying.</summary>
    public const int RetryAfterSeconds = 5;

    public static readonly SwitchboardError Error = new(ErrorCodes.Unavailable,
        "A service the cluster shares (Redis) is unreachable, so nothing was sent; retry later.");

    public static bool IsUnavailable(Exception e) =>
        e.GetType().Namespace == "StackExchange.Redis" || (e.InnerException is { } inner && IsUnavailable(inner));

    /// <summary>Adds <c>Retry-After</c> to every 503 answer of the HTTP API that lacks one.</summary>
    public static WebApplication UseRetryAfterOnUnavailable(this WebApplication app)
    {
        app.Use((context, next) =>
        {
            context.Response.OnStarting(() =>
            {
                if (context.Response.StatusCode == StatusCodes.Status503ServiceUnavailable
                    && !context.Response.Headers.ContainsKey(HeaderNames.RetryAfter))
                {
                    context.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
                }
                return Task.CompletedTask;
            });
            return next(context);
        });
        return app;
    }
}

/// <summary>An HTTP request that failed because Redis is unreachable answers 503 <c>unavailable</c>, not 500.</summary>
internal sealed class UnavailableExceptionHandler : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (!Unavailability.IsUnavailable(exception))
        {
            return false;
        }
        await ApiProblems.Problem(Unavailability.Error).ExecuteAsync(httpContext);
        return true;
    }
}
