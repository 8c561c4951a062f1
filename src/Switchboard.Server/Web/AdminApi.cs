using Microsoft.AspNetCore.Http.HttpResults;
using Switchboard.Core.Presence;
using Switchboard.Server.Api;
using Switchboard.Server.Authentication;
using Switchboard.Server.Hosting;

namespace Switchboard.Server.Web;

/// <summary>
/// The read routes behind the web app's admin page, beside <c>GET /api/stats</c>: open
/// connections, chat rooms with member counts, and message totals. Role Admin or Publisher, like
/// the rest of the HTTP API; all of them describe this server process.
/// </summary>
public static class AdminApi
{
    /// <summary>On the wire: <c>{ group, users, connections }</c>.</summary>
    public sealed record GroupSummary(string Group, int Users, int Connections);

    /// <summary>On the wire: <c>{ at, groupMessages, privateMessages, invocations }</c>, totals since the server started.</summary>
    public sealed record MessageTotals(DateTime At, long GroupMessages, long PrivateMessages, long Invocations);

    public static IEndpointRouteBuilder MapAdminApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api")
            .RequireAuthorization(Policies.Publisher)
            .RequireRateLimiting(ApiRateLimiting.Policy)
            .CountRefusals()
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .WithTags("Admin");
        group.MapGet("/connections", (ConnectionCatalog catalog) => TypedResults.Ok(catalog.Connections))
            .WithName("ListConnections")
            .WithSummary("The open hub connections of this server process: id, hub, user, name, since when.");
        group.MapGet("/groups", ListGroups)
            .WithName("ListGroups")
            .WithSummary("The chat groups that have members on this server process, with user and connection counts.");
        group.MapGet("/stats/messages", (ConnectionCatalog catalog, TimeProvider time) =>
            {
                var (groupMessages, privateMessages, invocations) = catalog.Totals;
                return TypedResults.Ok(new MessageTotals(time.GetUtcNow().UtcDateTime, groupMessages, privateMessages, invocations));
            })
            .WithName("GetMessageTotals")
            .WithSummary("Group and private messages published and hub methods invoked since this process started; rates are differences between two readings.");
        return app;
    }

    /// <summary>
    /// Groups are found through their members: every signed-in user with a connection here, and
    /// the chat groups presence says they are in. A group with no member is not listed.
    /// </summary>
    private static async Task<Ok<List<GroupSummary>>> ListGroups(ConnectionCatalog catalog, IPresenceStore presence)
    {
        var names = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var userId in catalog.Connections.Select(c => c.UserId).OfType<string>().Distinct(StringComparer.Ordinal))
        {
            names.UnionWith((await presence.GetUserAsync(userId)).Groups);
        }
        var groups = new List<GroupSummary>(names.Count);
        foreach (var name in names)
        {
            var group = await presence.GetGroupAsync(name);
            if (group.Users > 0) groups.Add(new GroupSummary(group.Group, group.Users, group.Connections));
        }
        return TypedResults.Ok(groups);
    }
}
