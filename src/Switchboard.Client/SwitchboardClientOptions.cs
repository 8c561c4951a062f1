using Microsoft.AspNetCore.Http.Connections;

namespace Switchboard.Client;

/// <summary>How a <see cref="SwitchboardClient"/> connects.</summary>
public sealed class SwitchboardClientOptions
{
    /// <summary>The chat hub's absolute URL, e.g. <c>http://127.0.0.1:5080/hubs/chat</c>.</summary>
    public required Uri Url { get; init; }

    /// <summary>Returns the current access token; called on every (re)connect, so it may refresh.</summary>
    public Func<Task<string?>>? AccessTokenProvider { get; init; }

    /// <summary>
    /// WebSockets without the negotiate round trip: one TCP connection, so no sticky sessions are
    /// needed behind a load balancer. Default true. Set false to let SignalR negotiate a transport.
    /// </summary>
    public bool SkipNegotiation { get; init; } = true;

    /// <summary>Transports to allow when <see cref="SkipNegotiation"/> is false. Default all.</summary>
    public HttpTransportType Transports { get; init; } = HttpTransportType.WebSockets | HttpTransportType.ServerSentEvents | HttpTransportType.LongPolling;

    /// <summary>Use the MessagePack hub protocol instead of JSON. Default false.</summary>
    public bool UseMessagePack { get; init; }

    /// <summary>Waits between reconnect attempts; the last one repeats until <see cref="ReconnectFor"/> has passed. Default 0, 1, 2, 5, 10 s.</summary>
    public IReadOnlyList<TimeSpan> ReconnectDelays { get; init; } =
        [TimeSpan.Zero, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(10)];

    /// <summary>How long to keep trying to reconnect before giving up and raising <see cref="SwitchboardClient.Closed"/>. Default 10 minutes.</summary>
    public TimeSpan ReconnectFor { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Most messages asked for per history page when filling a gap. Default 500. The server serves
    /// at most its <c>Switchboard:Recovery:MaxMessages</c> per page whatever is asked (and about
    /// <c>MaxCharacters</c> of payload), so this need not match the deployment.
    /// </summary>
    public int PageSize { get; init; } = 500;

    /// <summary>
    /// Waits before fetching a live gap from history again after the fetch failed while connected
    /// (for example <c>rate_limited</c>, <c>unavailable</c> or a server error); the last one
    /// repeats until the fetch succeeds, the group is unsubscribed, the client is disposed, or a
    /// reconnect's resubscribe takes over. Meanwhile the envelope that revealed the gap, and what
    /// arrives for the group after it, wait; nothing of another group waits. The same delays pace
    /// a reconnect's resubscribe: when a group's <c>Subscribe</c>, or a page of what it missed, fails
    /// for a reason that can pass (for example <c>rate_limited</c> when many groups' calls exceed
    /// the connection's invocation burst), the resubscribe waits the next delay and goes on with
    /// that group from what it has delivered, the count starting over after each call that succeeds.
    /// Default 0.1, 0.25, 0.5, 1, 2, 5 s. At least one, none negative.
    /// </summary>
    public IReadOnlyList<TimeSpan> GapFillRetryDelays { get; init; } =
    [
        TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(250), TimeSpan.FromMilliseconds(500),
        TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(5),
    ];

    /// <summary>
    /// Most messages of one group held undelivered while they wait: behind a live gap whose fetch
    /// is being retried (see <see cref="GapFillRetryDelays"/>), or until a reconnect's resubscribe
    /// has settled the group. When one more arrives, the client gives the group up:
    /// <see cref="SwitchboardClient.SubscriptionLost"/> is raised with the last position delivered
    /// and an <see cref="InvalidOperationException"/> saying why, what waited is dropped, the
    /// group's pending retry is not made, and the client stops following it (other groups go on).
    /// Subscribe again to follow it. This bounds the client's memory during a long
    /// <c>rate_limited</c> or <c>unavailable</c> spell on a busy group. Default 10,000; at least 1.
    /// </summary>
    public int MaxWaiting { get; init; } = 10_000;
}
