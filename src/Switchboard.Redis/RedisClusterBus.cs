using System.Text.Json;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;
using Switchboard.Core.Cluster;

namespace Switchboard.Redis;

/// <summary>
/// <see cref="IClusterBus"/> over Redis pub/sub on channel <c>P:cluster</c>: a command sent on
/// any process runs on every process (this one included) when it arrives. Pub/sub delivers at
/// most once: a process cut off from Redis misses commands sent meanwhile (its connections were
/// cut off too, and rejoin their user-level groups when they reconnect).
/// </summary>
public sealed class RedisClusterBus(RedisConnection redis, ILogger<RedisClusterBus> logger) : IClusterBus
{
    private readonly RedisChannel _channel = RedisChannel.Literal(redis.Key("cluster"));

    public async Task SendAsync(ClusterCommand command, CancellationToken cancellationToken = default)
    {
        var subscriber = await redis.SubscriberAsync();
        await subscriber.PublishAsync(_channel, JsonSerializer.Serialize(command, JsonSerializerOptions.Web));
    }

    public void OnCommand(Func<ClusterCommand, Task> handler)
    {
        // Subscribing waits for Redis; start-up must not (Redis may be down), so it runs on its own.
        _ = SubscribeAsync(handler);
    }

    private async Task SubscribeAsync(Func<ClusterCommand, Task> handler)
    {
        var subscriber = await redis.SubscriberAsync();
        var queue = await subscriber.SubscribeAsync(_channel);
        queue.OnMessage(async message =>
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
        });
    }
}
