using Microsoft.AspNetCore.Http.HttpResults;
using Switchboard.Contracts;
using Switchboard.Core.Cluster;
using Switchboard.Core.Validation;
using Switchboard.Server.Authentication;
using Switchboard.Server.Hubs;

using Switchboard.Server.Hosting;

namespace Switchboard.Server.Api;

/// <summary>
/// Closing connections from outside any hub: one connection, or every connection of a user.
/// The client is told <c>"disconnected: {reason}"</c> and is asked not to reconnect. Role Admin or Publisher.
/// </summary>
public static class ConnectionsApi
{
    public const int MaxReasonLength = 200;

    /// <summary>On the wire: <c>{ closed }</c>, the number of connections closed.</summary>
    public sealed record CloseResult(int Closed);

    public static IEndpointRouteBuilder MapConnectionsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api").RequireAuthorization(Policies.Publisher).WithTags("Connections")
            .CountRefusals()
            .RequireRateLimiting(ApiRateLimiting.Policy)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status429TooManyRequests);
        api.MapDelete("/connections/{connectionId}", CloseConnection).WithName("CloseConnection")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary("Close one connection, with an optional reason (query string 'reason').");
        api.MapDelete("/users/{userId}/connections", CloseUser).WithName("CloseUserConnections")
            .WithSummary("Close every connection of a user, with an optional reason (query string 'reason').");
        return app;
    }

    /// <summary>
    /// A connection of this process is closed here; otherwise the close goes to every process
    /// through the cluster bus, and each answers whether it holds the connection (signed in or
    /// anonymous). None does (no such connection, or its process is gone or cut off) is <c>404</c>.
    /// </summary>
    private static async Task<Results<Ok<CloseResult>, ProblemHttpResult>> CloseConnection(string connectionId, ConnectionRegistry registry,
        IClusterBus bus, ClusterReplies replies, string? reason = null)
    {
        if (CheckReason(reason) is { } invalid) return invalid;
        if (await registry.CloseAsync(connectionId, Reason(reason)))
        {
            return TypedResults.Ok(new CloseResult(1));
        }
        if (connectionId.Length <= 200
            && await SendAndCountAsync(bus, replies, replies.Expect(enoughFound: 1), id => new CloseConnectionCommand(connectionId, Reason(reason)) { ReplyTo = id }) > 0)
        {
            return TypedResults.Ok(new CloseResult(1));
        }
        return ApiProblems.Problem(new(ErrorCodes.ConnectionNotFound, "No open connection has that id."));
    }

    /// <summary>Every process closes the user's connections it holds and answers how many; the answer sums them.</summary>
    private static async Task<Results<Ok<CloseResult>, ProblemHttpResult>> CloseUser(string userId, IClusterBus bus,
        ClusterReplies replies, string? reason = null)
    {
        if (InputRules.CheckUserId(userId) is { } badUser) return ApiProblems.Problem(badUser);
        if (CheckReason(reason) is { } invalid) return invalid;
        var closed = await SendAndCountAsync(bus, replies, replies.Expect(), id => new CloseUserCommand(userId, Reason(reason)) { ReplyTo = id });
        return TypedResults.Ok(new CloseResult(closed));
    }

    /// <summary>
    /// Sends a close with <paramref name="request"/>'s reply id and counts the connections the
    /// answers report, until every process the close reached has answered (at once in one
    /// process, whose handler has answered when the send completes), the request found what it
    /// looks for, or the bus's <see cref="IClusterBus.AnswerTimeout"/> has passed.
    /// </summary>
    private static async Task<int> SendAndCountAsync(IClusterBus bus, ClusterReplies replies, ClusterReplies.Request request,
        Func<string, ClusterCommand> command)
    {
        try
        {
            request.Reached(await bus.SendAsync(command(request.Id)));
            await request.Done.WaitAsync(bus.AnswerTimeout);
        }
        catch (TimeoutException)
        {
            // Those that answered are counted; a process that did not holds none we know of.
        }
        finally
        {
            replies.Take(request); // also when the send failed (Redis away): no request stays behind
        }
        return request.Found;
    }

    private static string Reason(string? reason) =>
        $"{CloseReasons.Disconnected}: {(string.IsNullOrWhiteSpace(reason) ? "Closed by the server's HTTP API." : reason)}";

    private static ProblemHttpResult? CheckReason(string? reason) =>
        reason is not null && (reason.Length > MaxReasonLength || reason.Any(char.IsControl))
            ? ApiProblems.Problem(new(ErrorCodes.ArgumentInvalid, $"reason must be at most {MaxReasonLength} printable characters."))
            : null;
}
