using System.Text.Json;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;
using Switchboard.Core.Cluster;

namespace Switchboard.Redis;

/// <summary>
/// <see cref="IClusterBus"/> over Redis pub/sub on channel <c>P:cluster</c>: a command sent on
/// any process runs on every process (this one included) when it arrives. Pub/sub delivers at
/// most once: a process cut off from Redis misses commands sent meanwhile, and its connections
/// may well have stayed, so <see cref="Resumed"/> is raised when the subscription is back and
/// the process reads the user-level memberships again. A close sent meanwhile is not repeated.
/// A process that starts while Redis is away subscribes once it is back.
/// <para>
/// Each process also subscribes to <c>P:cluster:answering</c>, on which nothing is ever
/// published: its subscribers are the processes that answer closes. A send counts them and
/// publishes in one script, so a sender waits for exactly those, and not for processes of an
/// older build (which never answer) nor for anything else listening on <c>P:cluster</c>.
/// </para>
/// </summary>
public sealed class RedisClusterBus(RedisConnection redis, ILogger<RedisClusterBus> logger) : IClusterBus
{
    // Counted and published in one step: no process can subscribe or leave between the two.
    private const string CountAndPublishScript = """
        local answering = redis.call('PUBSUB', 'NUMSUB', ARGV[2])[2]
        redis.call('PUBLISH', ARGV[1], ARGV[3])
        return answering
        """;

    private readonly RedisChannel _channel = RedisChannel.Literal(redis.Key("cluster"));
    private readonly RedisChannel _answering = RedisChannel.Literal(redis.Key("cluster:answering"));

    public TimeSpan AnswerTimeout => redis.Options.AnswerTimeout;

    /// <summary>
    /// Publishes the command; returns how many processes that answer received it: those whose
    /// subscription is up (this one included), so a process that is gone or cut off from Redis is
    /// not waited for.
    /// </summary>
    public async Task<int> SendAsync(ClusterCommand command, CancellationToken cancellationToken = default)
    {
        var database = await redis.DatabaseAsync();
        return (int)await database.ScriptEvaluateAsync(CountAndPublishScript, values:
            [(string)_channel!, (string)_answering!, JsonSerializer.Serialize(command, JsonSerializerOptions.Web)]);
    }

    public event Action? Resumed;

    /// <summary>How long a failed subscription waits before it is tried again.</summary>
    internal static readonly TimeSpan SubscribeRetryDelay = TimeSpan.FromSeconds(1);

    public void OnCommand(Func<ClusterCommand, Task> handler)
    {
        // Subscribing waits for Redis; start-up must not (Redis may be down), so it runs on its own.
        _ = SubscribeAsync(handler);
    }

    /// <summary>
    /// Subscribes, and keeps trying until it has: a process started while Redis is away must
    /// still run the commands sent once Redis is back (with fail-fast settings the first attempt
    /// throws at once, and a subscription never made is never restored).
    /// </summary>
    private async Task SubscribeAsync(Func<ClusterCommand, Task> handler)
    {
        for (var attempt = 1; ; attempt++)
        {
            ISubscriber? subscriber = null;
            try
            {
                subscriber = await redis.SubscriberAsync();
                var queue = await subscriber.SubscribeAsync(_channel);
                queue.OnMessage(message => HandleAsync(message, handler));
                // After the commands' channel, so a process counted as answering receives them.
                await subscriber.SubscribeAsync(_answering, static (_, _) => { });
                // Commands published while the subscription's connection is down are lost: say
                // so when it is back (the library subscribes again on its own).
                subscriber.Multiplexer.ConnectionRestored += (_, e) =>
                {
                    if (e.ConnectionType == ConnectionType.Subscription)
                    {
                        Resumed?.Invoke();
                    }
                };
                if (attempt > 1)
                {
                    RedisLog.ClusterBusSubscribed(logger, attempt);
                    Resumed?.Invoke(); // commands sent before this were missed
                }
                return;
            }
            catch (ObjectDisposedException)
            {
                return; // the connection was closed: the process is stopping
            }
            catch (Exception e)
            {
                if (attempt == 1)
                {
                    RedisLog.ClusterBusSubscribeFailed(logger, e);
                }
                if (subscriber is not null)
                {
                    // The client library keeps the failed subscription and would restore it when
                    // Redis returns, with nobody reading its queue: drop it before the next try.
                    // Both: a process left subscribed to the answering channel alone would be waited for.
                    foreach (var channel in new[] { _channel, _answering })
                    {
                        try
                        {
                            await subscriber.UnsubscribeAsync(channel);
                        }
                        catch (Exception)
                        {
                            // Unregistered locally before the server is asked; the server has nothing to forget.
                        }
                    }
                }
            }
            await Task.Delay(SubscribeRetryDelay);
        }
    }

    private async Task HandleAsync(ChannelMessage message, Func<ClusterCommand, Task> handler)
    {
        ClusterCommand? command;
        try
        {
            command = JsonSerializer.Deserialize<ClusterCommand>((string)message.Message!, JsonSerializerOptions.Web);
        }
        catch (JsonException e)
        {
            RedisLog.BadCommand(logger, e);
            return;
        }
        if (command is not null)
        {
            await handler(command);
        }
    }
}
