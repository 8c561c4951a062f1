using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Switchboard.Core.Validation;
using Switchboard.Server.Authentication;
using Switchboard.Server.Hosting;
using Switchboard.Server.Hubs;

namespace Switchboard.Server.Api;

/// <summary>
/// <c>/api/notifications</c>: backends push <c>ReceiveNotification</c> to NotificationHub clients.
/// Every route needs a bearer token with role Admin or Publisher. The body is a JSON string,
/// exactly as the guide's <c>NotificationsController.Broadcast</c>.
/// </summary>
public static class NotificationsApi
{
    public static RouteGroupBuilder MapNotificationsApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/notifications")
            .RequireAuthorization(Policies.Publisher)
            .WithTags("Notifications")
            .CountRefusals()
            .RequireRateLimiting(ApiRateLimiting.Policy)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status429TooManyRequests);

        group.MapPost("/broadcast", Broadcast).WithName("BroadcastNotification").WithJsonBody<string>()
            .WithSummary("Send a notification to every connection of the notifications hub.");
        group.MapPost("/users/{userId}", ToUser).WithName("NotifyUser").WithJsonBody<string>()
            .WithSummary("Send a notification to every connection of one user.");
        group.MapPost("/groups/{groupName}", ToGroup).WithName("NotifyGroup").WithJsonBody<string>()
            .WithSummary("Send a notification to every connection in one group.");
        return group;
    }

    private static async Task<Results<Ok, ProblemHttpResult>> Broadcast(
        HttpRequest request, NotificationService notifications, IOptions<SwitchboardOptions> options, CancellationToken ct)
    {
        var (message, error) = await ReadMessageAsync(request, options.Value, ct);
        if (error is not null) return error;
        await notifications.SendToAllAsync(message!);
        return TypedResults.Ok();
    }

    private static async Task<Results<Ok, ProblemHttpResult>> ToUser(
        string userId, HttpRequest request, NotificationService notifications, IOptions<SwitchboardOptions> options, CancellationToken ct)
    {
        if (InputRules.CheckUserId(userId) is { } invalid) return ApiProblems.Problem(invalid);
        var (message, error) = await ReadMessageAsync(request, options.Value, ct);
        if (error is not null) return error;
        await notifications.SendToUserAsync(userId, message!);
        return TypedResults.Ok();
    }

    private static async Task<Results<Ok, ProblemHttpResult>> ToGroup(
        string groupName, HttpRequest request, NotificationService notifications, IOptions<SwitchboardOptions> options, CancellationToken ct)
    {
        if (InputRules.CheckGroupName(groupName) is { } invalid) return ApiProblems.Problem(invalid);
        var (message, error) = await ReadMessageAsync(request, options.Value, ct);
        if (error is not null) return error;
        await notifications.SendToGroupAsync(groupName, message!);
        return TypedResults.Ok();
    }

    private static async Task<(string? Message, ProblemHttpResult? Error)> ReadMessageAsync(
        HttpRequest request, SwitchboardOptions options, CancellationToken ct)
    {
        var (message, error) = await ApiProblems.ReadJsonAsync<string>(request, options.Limits.MaxRequestBodyBytes,
            "a JSON string", "\"Hello\"", ct);
        error ??= InputRules.CheckMessage(message, options.MaxMessageLength);
        return error is null ? (message, null) : (null, ApiProblems.Problem(error));
    }
}
