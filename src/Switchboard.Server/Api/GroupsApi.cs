using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Switchboard.Contracts;
using Switchboard.Core;
using Switchboard.Core.History;
using Switchboard.Core.Presence;
using Switchboard.Core.Publishing;
using Switchboard.Core.Validation;
using Switchboard.Server.Authentication;
using Switchboard.Server.Hosting;
using Switchboard.Server.Hubs;

namespace Switchboard.Server.Api;

/// <summary>
/// <c>/api/groups</c>: publish to a chat group through the same publish path as the hubs, and
/// page through its history. Role Admin or Publisher.
/// </summary>
public static class GroupsApi
{
    public static RouteGroupBuilder MapGroupsApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/groups")
            .RequireAuthorization(Policies.Publisher)
            .WithTags("Groups")
            .CountRefusals()
            .RequireRateLimiting(ApiRateLimiting.Policy)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status429TooManyRequests);
        group.MapPost("/{groupName}/messages", Publish).WithName("PublishToGroup")
            .WithJsonBody<PublishRequest>()
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable)
            .WithSummary("Publish a message to a chat group; answered once the message is durable.");
        group.MapGet("/{groupName}/messages", GetMessages).WithName("GetGroupMessages")
            .WithSummary("Page through a group's history: messages after an offset.")
            .WithPagingQueryDescribed()
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        group.MapGet("/{groupName}/presence", GetPresence).WithName("GetGroupPresence")
            .WithSummary("Who is in a chat group: members with their connection counts, and totals.");
        group.MapPost("/{groupName}/users/{userId}", AddUser).WithName("AddUserToGroup")
            .WithSummary("Put a user in a group on every chat connection, present and future.");
        group.MapDelete("/{groupName}/users/{userId}", RemoveUser).WithName("RemoveUserFromGroup")
            .WithSummary("Take a user out of a group on every chat connection, and end the user-level membership.");
        return group;
    }

    /// <summary>The answer of the membership routes: <c>{ group, userId, changed }</c>.</summary>
    public sealed record MembershipResult(string Group, string UserId, bool Changed);

    private static async Task<Results<Ok<GroupPresenceDto>, ProblemHttpResult>> GetPresence(string groupName, IPresenceStore presence)
    {
        if (InputRules.CheckGroupName(groupName) is { } invalid) return ApiProblems.Problem(invalid);
        return TypedResults.Ok((await presence.GetGroupAsync(groupName)).ToDto());
    }

    private static async Task<Results<Ok<MembershipResult>, ProblemHttpResult>> AddUser(string groupName, string userId, ChatMembership membership)
    {
        if ((InputRules.CheckGroupName(groupName) ?? InputRules.CheckUserId(userId)) is { } invalid) return ApiProblems.Problem(invalid);
        return TypedResults.Ok(new MembershipResult(groupName, userId, await membership.AddUserAsync(userId, groupName)));
    }

    private static async Task<Results<Ok<MembershipResult>, ProblemHttpResult>> RemoveUser(string groupName, string userId, ChatMembership membership)
    {
        if ((InputRules.CheckGroupName(groupName) ?? InputRules.CheckUserId(userId)) is { } invalid) return ApiProblems.Problem(invalid);
        return TypedResults.Ok(new MembershipResult(groupName, userId, await membership.RemoveUserAsync(userId, groupName)));
    }

    private static async Task<Results<Ok<PublishResult>, ProblemHttpResult>> Publish(string groupName, HttpRequest request,
        GroupPublisher publisher, IOptions<SwitchboardOptions> options, CancellationToken ct)
    {
        if (InputRules.CheckGroupName(groupName) is { } invalid) return ApiProblems.Problem(invalid);
        var (body, invalidBody) = await ApiProblems.ReadJsonAsync<PublishRequest>(request, options.Value.Limits.MaxRequestBodyBytes,
            "a JSON object { \"message\": \"...\", \"id\": \"optional\" }", "{ \"message\": \"Hello\" }", ct);
        if (invalidBody is not null) return ApiProblems.Problem(invalidBody);
        try
        {
            var user = request.HttpContext.User;
            var result = await publisher.PublishAsync(groupName, body!.Id, user.UserId(), user.DisplayName(), body.Message,
                options.Value.MaxMessageLength);
            return TypedResults.Ok(result.ToPublishResult());
        }
        catch (SwitchboardException e)
        {
            // A 503 (history_unavailable) gets its Retry-After from UseRetryAfterOnUnavailable, like every 503.
            return ApiProblems.Problem(e.Error);
        }
    }

    /// <remarks>
    /// <c>after</c> (default 0) and <c>limit</c> (default 100) are read here rather than bound, so
    /// that a value that is not a whole number gets the documented <c>position_invalid</c> too,
    /// not the framework's bare 400 (<see cref="PagingQuery.WithPagingQueryDescribed"/> describes them).
    /// </remarks>
    private static async Task<Results<Ok<HistoryPageDto>, ProblemHttpResult>> GetMessages(string groupName, HttpRequest request,
        IHistoryStore history, IOptions<SwitchboardOptions> options, CancellationToken ct)
    {
        if (InputRules.CheckGroupName(groupName) is { } invalid) return ApiProblems.Problem(invalid);
        var limits = options.Value.Recovery;
        if (!PagingQuery.TryRead(request.Query, "after", 0, out var after) || !PagingQuery.TryRead(request.Query, "limit", 100, out var limit))
        {
            return ApiProblems.Problem(RecoveryRules.PageInvalid);
        }
        if (RecoveryRules.CheckPage(after, limit) is { } badPage) return ApiProblems.Problem(badPage);
        var page = await Recovery.ReadPageAsync(history, groupName, after, RecoveryRules.PageLimit(limit, limits), limits.MaxCharacters, ct);
        return TypedResults.Ok(page.ToDto(groupName));
    }
}
