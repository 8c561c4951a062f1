using System.ComponentModel.DataAnnotations;

namespace Switchboard.Server.Hosting;

/// <summary>
/// SignalR's hub options as the guide sets them, bound from the <c>SignalR</c> section with the
/// guide's values as defaults. <see cref="EnableDetailedErrors"/> unset means "only in Development".
/// </summary>
public sealed class SignalRSettings
{
    public const string Section = "SignalR";

    public bool? EnableDetailedErrors { get; set; }

    /// <summary>Largest incoming hub message in bytes; a larger one closes that connection. Default 32 KB.</summary>
    [Range(1024, 16 * 1024 * 1024)]
    public long MaximumReceiveMessageSize { get; set; } = 32 * 1024;

    /// <summary>Items buffered per client-to-server stream. Default 10.</summary>
    [Range(1, 10_000)]
    public int StreamBufferCapacity { get; set; } = 10;

    /// <summary>
    /// Invocations of one connection that may run at once. Default 1 (SignalR's): a connection's
    /// next invocation starts when its previous one has finished. Above 1, invocations still start
    /// in the order they arrive and a connection's publishes to a group keep their order, but
    /// they may finish out of order; a durable publish waits for its commit, so more in flight
    /// per connection makes larger batches (docs/configuration.md, docs/benchmarks.md).
    /// </summary>
    [Range(1, 1024)]
    public int MaximumParallelInvocationsPerClient { get; set; } = 1;

    /// <summary>Interval of server pings. Default 15 s.</summary>
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Silence after which the server drops a client. Default 30 s; must exceed <see cref="KeepAliveInterval"/>.</summary>
    public TimeSpan ClientTimeoutInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Time a new connection has to complete its handshake. Default 15 s.</summary>
    public TimeSpan HandshakeTimeout { get; set; } = TimeSpan.FromSeconds(15);
}

/// <summary>Switchboard's own settings, bound from the <c>Switchboard</c> section.</summary>
public sealed class SwitchboardOptions
{
    public const string Section = "Switchboard";

    /// <summary>Longest chat or notification message, in characters. Default 16384.</summary>
    [Range(1, 1_000_000)]
    public int MaxMessageLength { get; set; } = 16 * 1024;

    /// <summary>
    /// Hubs opened to anonymous users, by name (the last path segment: <c>chat</c>,
    /// <c>typed-chat</c>, ...). Empty by default: every hub requires a signed-in user.
    /// <c>secure-chat</c> can never be opened.
    /// </summary>
    public List<string> AllowAnonymousHubs { get; set; } = [];

    /// <summary>
    /// Browser origins (<c>https://app.example.com</c>) allowed to connect to the hubs besides the
    /// server's own; <c>*</c> allows any. Requests without an <c>Origin</c> header (non-browser
    /// clients) are always allowed. Empty by default: same origin only.
    /// </summary>
    public List<string> AllowedOrigins { get; set; } = [];

    public StreamingOptions Streaming { get; set; } = new();

    public UploadOptions Upload { get; set; } = new();

    public RecoveryOptions Recovery { get; set; } = new();

    public LimitsOptions Limits { get; set; } = new();

    public WebhookOptions Webhooks { get; set; } = new();
}

/// <summary>
/// <c>Switchboard:Webhooks</c>: lifecycle events POSTed to a backend (docs/webhooks.md). Off
/// unless <see cref="Url"/> is set; a <see cref="Secret"/> is then required.
/// </summary>
public sealed class WebhookOptions
{
    /// <summary>Absolute http or https URL the batches are POSTed to. Unset (the default): webhooks are off.</summary>
    public string? Url { get; set; }

    /// <summary>Key of the HMAC-SHA256 signature of each body; at least 32 characters, required with <see cref="Url"/>.</summary>
    public string? Secret { get; set; }

    /// <summary>Events to send (<c>member_added</c>, <c>member_removed</c>, <c>channel_occupied</c>, <c>channel_vacated</c>). Empty (the default): all.</summary>
    public List<string> Events { get; set; } = [];

    /// <summary>Most events in one POST. Default 100.</summary>
    public int MaxBatchSize { get; set; } = 100;

    /// <summary>Most events waiting to be sent; when full, the oldest is dropped. Default 10000.</summary>
    public int MaxQueue { get; set; } = 10_000;

    /// <summary>Time one POST may take, answer included. Default 10 s.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>POSTs of one batch before it is given up (the first included). Default 5.</summary>
    public int MaxAttempts { get; set; } = 5;

    /// <summary>Pause before the first retry; doubled for each next one, up to 1 minute. Default 1 s.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(1);
}

/// <summary><c>Switchboard:Limits</c>: rates, quotas and sizes per connection, user and caller.</summary>
public sealed class LimitsOptions
{
    /// <summary>Hub invocations one connection may make per second, sustained. 0 turns the limit off. Default 50.</summary>
    public double InvocationsPerSecond { get; set; } = 50;

    /// <summary>Invocations a connection may make in a burst above the sustained rate. Default 100.</summary>
    public int InvocationBurst { get; set; } = 100;

    /// <summary>Refusals in a row after which the connection is closed with reason <c>rate_limited</c>. Default 20.</summary>
    public int ViolationsBeforeClose { get; set; } = 20;

    /// <summary>HTTP API requests per second per caller (token <c>sub</c>, or address when anonymous). 0 turns it off. Default 100.</summary>
    public double HttpRequestsPerSecond { get; set; } = 100;

    /// <summary>HTTP API requests a caller may make at once above the sustained rate. Default 200.</summary>
    public int HttpBurst { get; set; } = 200;

    /// <summary>Most connections one user (token <c>sub</c>) may have open, all hubs together. 0 turns it off. Default 100.</summary>
    public int MaxConnectionsPerUser { get; set; } = 100;

    /// <summary>Most groups one connection may join (chat and notifications hubs). Default 100.</summary>
    public int MaxGroupsPerConnection { get; set; } = 100;

    /// <summary>Largest HTTP API request body, in bytes. Default 65536.</summary>
    public int MaxRequestBodyBytes { get; set; } = 64 * 1024;

    /// <summary>
    /// Bytes of messages that may wait for one connection to read them (beyond what the
    /// transport buffers) before it is closed with reason <c>slow</c>. 0 turns it off. Default 1 MB.
    /// </summary>
    public long MaxOutboundQueueBytes { get; set; } = 1024 * 1024;

    /// <summary>
    /// Most WebSocket connections the server holds at once; an upgrade past it is refused, and
    /// the connections already open are unharmed. Unset (the default): what the process's
    /// open-file limit allows after headroom and a share for plain HTTP connections
    /// (<see cref="ConnectionCeiling"/>), so the server never runs out of file descriptors
    /// (which would crash it). 0 turns it off.
    /// </summary>
    public int? MaxConnections { get; set; }
}

/// <summary><c>Switchboard:Recovery</c>: how much one answer to <c>Subscribe</c> or <c>GetHistory</c> may carry.</summary>
public sealed class RecoveryOptions
{
    /// <summary>Most messages in one recovery answer or history page; the rest is paged. Default 500.</summary>
    public int MaxMessages { get; set; } = 500;

    /// <summary>About how many payload characters one recovery answer may carry (at least one message is always sent). Default 262144.</summary>
    public int MaxCharacters { get; set; } = 256 * 1024;

    /// <summary>Most messages a first <c>Subscribe</c> may ask for with <c>history</c>. Default 100.</summary>
    public int MaxHistory { get; set; } = 100;
}

/// <summary><c>Switchboard:Streaming</c>: limits and pace of the server-to-client streams.</summary>
public sealed class StreamingOptions
{
    /// <summary>Pause between rounds of <c>StreamStockPrices</c>. Default 1 s, as in the guide.</summary>
    public TimeSpan PriceInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Most symbols one <c>StreamStockPrices</c> call may ask for. Default 20.</summary>
    [Range(1, 1000)]
    public int MaxSymbols { get; set; } = 20;

    /// <summary>Largest <c>count</c> of <c>StreamCounter</c>. Default 100000.</summary>
    [Range(1, int.MaxValue)]
    public int MaxCount { get; set; } = 100_000;

    /// <summary>Largest <c>delay</c> (milliseconds) of <c>StreamCounter</c>. Default 60000.</summary>
    [Range(0, int.MaxValue)]
    public int MaxDelayMilliseconds { get; set; } = 60_000;
}

/// <summary><c>Switchboard:Upload</c>: how often <c>UploadProgress</c> is sent.</summary>
public sealed class UploadOptions
{
    /// <summary>Least time between two <c>UploadProgress</c> events of one upload. Default 100 ms.</summary>
    public TimeSpan ProgressInterval { get; set; } = TimeSpan.FromMilliseconds(100);
}
