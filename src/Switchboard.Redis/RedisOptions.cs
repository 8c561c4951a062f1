namespace Switchboard.Redis;

/// <summary>Scale-out settings, bound from <c>Switchboard:Redis</c>. The connection string itself is <c>ConnectionStrings:Redis</c>.</summary>
public sealed class RedisOptions
{
    public const string Section = "Switchboard:Redis";

    /// <summary>
    /// Prefix of every key and channel Switchboard uses, so several deployments can share one
    /// Redis. Also the SignalR backplane's channel prefix (the guide's <c>ChannelPrefix</c>). Default <c>Switchboard</c>.
    /// </summary>
    public string ChannelPrefix { get; set; } = "Switchboard";

    /// <summary>How often each process renews its heartbeat. Default 3 seconds.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>
    /// A process whose heartbeat is older than this is dead: its connections leave presence.
    /// Default 10 seconds, so with the heartbeat interval a dead process's connections are gone within 15 seconds.
    /// </summary>
    public TimeSpan ProcessTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long a close sent through the HTTP API waits for the answers of the processes it reached
    /// (each says how many of the connections it holds). Every process that is up answers at once,
    /// so this matters only for a process that stopped answering. Default 2 seconds.
    /// </summary>
    public TimeSpan AnswerTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How long a Redis command may take before it fails. Default 5 seconds.</summary>
    public TimeSpan CommandTimeout { get; set; } = TimeSpan.FromSeconds(5);
}
