using Microsoft.Extensions.Options;
using Switchboard.Contracts;
using Switchboard.Server.Api;

namespace Switchboard.Server.Hosting;

/// <summary>
/// Refuses hub requests (negotiate, WebSocket upgrade, Server-Sent Events, long polling) whose
/// <c>Origin</c> is not allowed, against cross-site WebSocket hijacking: a page on another site
/// opening a connection with the visitor's credentials. Allowed: requests without an
/// <c>Origin</c> (non-browser clients), the server's own origin, and the origins listed in
/// <c>Switchboard:AllowedOrigins</c>. Others get <c>403</c> with the code <c>origin_not_allowed</c>.
/// </summary>
public static class OriginCheck
{
    public static WebApplication UseHubOriginCheck(this WebApplication app)
    {
        app.UseWhen(context => context.Request.Path.StartsWithSegments(HubRoutes.Prefix), hubs => hubs.Use(async (context, next) =>
        {
            var origin = context.Request.Headers.Origin.ToString();
            if (origin.Length == 0 || IsAllowed(origin, context.Request,
                    context.RequestServices.GetRequiredService<IOptions<SwitchboardOptions>>().Value.AllowedOrigins))
            {
                await next(context);
                return;
            }
            await ApiProblems.Problem(new(ErrorCodes.OriginNotAllowed,
                "This origin may not connect; add it to Switchboard:AllowedOrigins.")).ExecuteAsync(context);
        }));
        return app;
    }

    private static bool IsAllowed(string origin, HttpRequest request, List<string> allowed) =>
        string.Equals(origin, $"{request.Scheme}://{request.Host}", StringComparison.OrdinalIgnoreCase) ||
        allowed.Exists(a => a == "*" || string.Equals(a.TrimEnd('/'), origin, StringComparison.OrdinalIgnoreCase));
}
