using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Switchboard.Redis;

/// <summary>
/// The one Redis connection of this process (history, presence, user groups, cluster bus; the
/// SignalR backplane keeps its own). Configured to fail fast while Redis is unreachable, so a
/// publish is refused at once with a clear code instead of waiting in a queue, and to reconnect
/// on its own, so everything resumes when Redis returns without a restart.
/// </summary>
public sealed class RedisConnection : IAsyncDisposable
{
    private readonly Lazy<Task<ConnectionMultiplexer>> _multiplexer;

    public RedisConnection(RedisConnectionString connectionString, IOptions<RedisOptions> options, ILogger<RedisConnection> logger)
    {
        Options = options.Value;
        Prefix = Options.ChannelPrefix;
        var configuration = Configure(connectionString.Value, Options);
        _multiplexer = new(async () =>
        {
            var multiplexer = await ConnectionMultiplexer.ConnectAsync(configuration);
            multiplexer.ConnectionFailed += (_, e) => RedisLog.ConnectionFailed(logger, e.EndPoint?.ToString() ?? "?", e.FailureType.ToString());
            multiplexer.ConnectionRestored += (_, e) => RedisLog.ConnectionRestored(logger, e.EndPoint?.ToString() ?? "?");
            return multiplexer;
        });
    }

    public RedisOptions Options { get; }

    public string Prefix { get; }

    /// <summary>Settings shared by every Redis connection Switchboard opens, the backplane's included.</summary>
    public static ConfigurationOptions Configure(string connectionString, RedisOptions options)
    {
        var configuration = ConfigurationOptions.Parse(connectionString);
        configuration.AbortOnConnectFail = false;
        configuration.BacklogPolicy = BacklogPolicy.FailFast;
        configuration.ConnectTimeout = Math.Min(configuration.ConnectTimeout, 5000);
        configuration.AsyncTimeout = (int)options.CommandTimeout.TotalMilliseconds;
        configuration.SyncTimeout = (int)options.CommandTimeout.TotalMilliseconds;
        configuration.ReconnectRetryPolicy = new LinearRetry(500);
        configuration.ClientName ??= "switchboard";
        return configuration;
    }

    public async ValueTask<IDatabase> DatabaseAsync() => (await _multiplexer.Value).GetDatabase();

    public async ValueTask<ISubscriber> SubscriberAsync() => (await _multiplexer.Value).GetSubscriber();

    public async ValueTask<bool> IsConnectedAsync() => (await _multiplexer.Value).IsConnected;

    public string Key(string part) => Prefix + ":" + part;

    public async ValueTask DisposeAsync()
    {
        if (_multiplexer.IsValueCreated && _multiplexer.Value.IsCompletedSuccessfully)
        {
            await _multiplexer.Value.Result.CloseAsync();
            _multiplexer.Value.Result.Dispose();
        }
    }
}

/// <summary>The <c>ConnectionStrings:Redis</c> value, as a service.</summary>
public sealed record RedisConnectionString(string Value);

internal static partial class RedisLog
{
    [LoggerMessage(3001, LogLevel.Warning, "Redis connection to {Endpoint} failed ({Failure}); publishes are refused until it returns.")]
    public static partial void ConnectionFailed(ILogger logger, string endpoint, string failure);

    [LoggerMessage(3002, LogLevel.Information, "Redis connection to {Endpoint} restored.")]
    public static partial void ConnectionRestored(ILogger logger, string endpoint);

    [LoggerMessage(3003, LogLevel.Warning, "Redis presence upkeep failed; it retries on the next heartbeat.")]
    public static partial void HeartbeatFailed(ILogger logger, Exception exception);

    [LoggerMessage(3004, LogLevel.Information, "Presence of process {Node} resynchronised with Redis ({Connections} connections).")]
    public static partial void Resynchronised(ILogger logger, string node, int connections);

    [LoggerMessage(3005, LogLevel.Information, "Process {Node} stopped sending heartbeats; removed its {Connections} connections from presence.")]
    public static partial void DeadProcessRemoved(ILogger logger, string node, long connections);

    [LoggerMessage(3006, LogLevel.Warning, "A cluster command could not be read and was ignored.")]
    public static partial void BadCommand(ILogger logger, Exception exception);

    [LoggerMessage(3007, LogLevel.Warning, "Redis history retention failed; it retries on the next interval.")]
    public static partial void TrimFailed(ILogger logger, Exception exception);

    [LoggerMessage(3008, LogLevel.Warning, "Could not subscribe to cluster commands (Redis away?); retrying every second until it can.")]
    public static partial void ClusterBusSubscribeFailed(ILogger logger, Exception exception);

    [LoggerMessage(3009, LogLevel.Information, "Subscribed to cluster commands after {Attempts} attempts.")]
    public static partial void ClusterBusSubscribed(ILogger logger, int attempts);

    [LoggerMessage(3010, LogLevel.Warning, "The SignalR backplane's Redis connection {Name} holds {Held} of its {Expected} subscriptions in Redis (lost in a reconnect); closing it so that it reconnects and subscribes again.")]
    public static partial void BackplaneSubscriptionsLost(ILogger logger, string name, int held, int expected);

    [LoggerMessage(3011, LogLevel.Warning, "The SignalR backplane's Redis subscriptions are not checked: {Reason}.")]
    public static partial void BackplaneWatchUnavailable(ILogger logger, string reason);
}
