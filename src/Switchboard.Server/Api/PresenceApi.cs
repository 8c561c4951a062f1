using Microsoft.AspNetCore.Http.HttpResults;
using Switchboard.Core.Presence;
using Switchboard.Core.Validation;
using Switchboard.Server.Authentication;

using Switchboard.Server.Hosting;

namespace Switchboard.Server.Api;

/// <summary><c>/api/presence</c>: who is online, on every hub and (with Redis) every process. Role Admin or Publisher.</summary>
public static class PresenceApi
{
    /// <summary>On the wire: <c>{ userId, online, connectionIds }</c>.</summary>
    public sealed record UserPresence(string UserId, bool Online, IReadOnlyCollection<string> ConnectionIds);

    public static RouteGroupBuilder MapPresenceApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/presence")
            .RequireAuthorization(Policies.Publisher)
            .WithTags("Presence")
            .CountRefusals()
            .RequireRateLimiting(ApiRateLimiting.Policy)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status429TooManyRequests);
        group.MapGet("/users/{userId}", GetUser).WithName("GetUserPresence")
            .WithSummary("Whether a user is online, and the ids of their connections.");

        app.MapGroup("/api/users").RequireAuthorization(Policies.Publisher).WithTags("Presence").CountRefusals()
            .RequireRateLimiting(ApiRateLimiting.Policy)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .MapGet("/{userId}/presence", GetUserDetail).WithName("GetUserPresenceDetail")
            .WithSummary("Whether a user is online, when last seen, and the chat groups they are in.");
        return group;
    }

    /// <summary>On the wire: <c>{ userId, online, connections, lastSeen, groups }</c>.</summary>
    public sealed record UserPresenceDetail(string UserId, bool Online, int Connections, DateTime? LastSeen, IReadOnlyList<string> Groups);

    private static async Task<Results<Ok<UserPresenceDetail>, ProblemHttpResult>> GetUserDetail(string userId, IPresenceStore presence)
    {
        if (InputRules.CheckUserId(userId) is { } invalid) return ApiProblems.Problem(invalid);
        var p = await presence.GetUserAsync(userId);
        return TypedResults.Ok(new UserPresenceDetail(p.UserId, p.Online, p.Connections, p.LastSeen, p.Groups));
    }

    /// <summary>The guide's tracker, cluster-wide: read from the presence store, which every process writes.</summary>
    private static async Task<Results<Ok<UserPresence>, ProblemHttpResult>> GetUser(string userId, IPresenceStore presence)
    {
        if (InputRules.CheckUserId(userId) is { } invalid) return ApiProblems.Problem(invalid);
        var connections = (await presence.GetUserAsync(userId)).ConnectionIds;
        return TypedResults.Ok(new UserPresence(userId, connections.Count > 0, connections));
    }
}
