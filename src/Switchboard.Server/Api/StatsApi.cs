using Switchboard.Core.Connections;
using Switchboard.Core.Streaming;
using Switchboard.Server.Authentication;
using Switchboard.Server.Hubs;

namespace Switchboard.Server.Api;

/// <summary><c>GET /api/stats</c>: what this server process holds right now. Role Admin or Publisher.</summary>
public static class StatsApi
{
    /// <summary>On the wire: <c>{ connections, onlineUsers, streams: { downloads, uploads } }</c>.</summary>
    public sealed record Stats(int Connections, int OnlineUsers, StreamStats Streams);

    public sealed record StreamStats(int Downloads, int Uploads);

    public static IEndpointRouteBuilder MapStatsApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/stats", (ConnectionRegistry connections, IConnectionTracker tracker, ActiveStreams streams) =>
                TypedResults.Ok(new Stats(connections.Count, tracker.OnlineUserCount, new StreamStats(streams.Downloads, streams.Uploads))))
            .RequireAuthorization(Policies.Publisher)
            .RequireRateLimiting(ApiRateLimiting.Policy)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .WithTags("Stats")
            .WithName("GetStats")
            .WithSummary("Open connections, online users and running streams of this server process.");
        return app;
    }
}
