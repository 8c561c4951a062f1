using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using Switchboard.Redis;
using Switchboard.Server.Tests.Infrastructure;

namespace Switchboard.Server.Tests.ScaleOut;

/// <summary>
/// The watch over the SignalR backplane's Redis connections (<see cref="BackplaneWatch"/>), on a
/// real Redis: it leaves a connection that holds its subscriptions alone, and closes one that
/// holds fewer in Redis than it counts, which then reconnects and holds them all again.
/// </summary>
public sealed class BackplaneWatchTests(RedisFixture redis) : IClassFixture<RedisFixture>
{
    private static BackplaneWatch Watch() =>
        new(Options.Create(new RedisOptions()), TimeProvider.System, NullLogger<BackplaneWatch>.Instance);

    /// <summary>The backplane's settings, as ScaleOut gives them: Switchboard's connection settings and a channel prefix.</summary>
    private ConfigurationOptions Settings(string prefix)
    {
        var settings = RedisConnection.Configure(redis.Server.ConnectionString, new RedisOptions());
        settings.ChannelPrefix = RedisChannel.Literal(prefix);
        return settings;
    }

    [Fact]
    public void TheLibraryStillTellsHowManyChannelsAConnectionHolds() =>
        // Read through reflection (StackExchange.Redis keeps it internal): an upgrade that drops it fails here.
        Assert.NotNull(BackplaneWatch.HeldChannels);

    /// <summary>Closes the connection's sockets from outside, as a Redis restart would; completes when its subscription socket is back.</summary>
    private async Task ReconnectAsync(ConnectionMultiplexer connection)
    {
        var restored = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        connection.ConnectionRestored += (_, e) => { if (e.ConnectionType == ConnectionType.Subscription) restored.TrySetResult(); };
        var admin = await redis.Server.AdminAsync().WaitAsync(TestTimeouts.Network);
        var server = admin.Multiplexer.GetServers()[0];
        foreach (var client in (await server.ClientListAsync().WaitAsync(TestTimeouts.Network)).Where(c => c.Name == connection.ClientName))
        {
            await server.ClientKillAsync(client.Id).WaitAsync(TestTimeouts.Network);
        }
        await restored.Task.WaitAsync(TestTimeouts.Network);
    }

    [Fact]
    public async Task AConnectionHoldingItsSubscriptionsAfterAReconnectIsLeftAlone()
    {
        var watch = Watch();
        await using var connection = (ConnectionMultiplexer)await watch.ConnectAsync(Settings("w" + Guid.NewGuid().ToString("N")[..8]), TextWriter.Null)
            .WaitAsync(TestTimeouts.Network);
        var before = BackplaneWatch.HeldChannels!(connection);
        var queues = new List<ChannelMessageQueue>();
        for (var i = 0; i < 3; i++)
        {
            queues.Add(await connection.GetSubscriber().SubscribeAsync(RedisChannel.Literal("held-" + i)).WaitAsync(TestTimeouts.Network));
        }
        Assert.Equal(before + 3, BackplaneWatch.HeldChannels(connection));
        await ReconnectAsync(connection);

        for (var check = 0; check < 3; check++)
        {
            Assert.Equal(0, await watch.CheckAsync().WaitAsync(TestTimeouts.Network));
        }
        Assert.Equal(0, watch.Repairs);
    }

    [Fact]
    public async Task AConnectionShortInRedisAfterAReconnectIsMadeAgainOnce()
    {
        // The state a reconnect that lost a subscription leaves (the library counts one more
        // channel than Redis holds for the connection) cannot be made on demand, so this watch is
        // told the library counts one more than it does.
        var prefix = "w" + Guid.NewGuid().ToString("N")[..8];
        var watch = new BackplaneWatch(Options.Create(new RedisOptions()), TimeProvider.System,
            NullLogger<BackplaneWatch>.Instance, m => BackplaneWatch.HeldChannels!(m) + 1);
        await using var connection = (ConnectionMultiplexer)await watch.ConnectAsync(Settings(prefix), TextWriter.Null).WaitAsync(TestTimeouts.Network);
        var queue = await connection.GetSubscriber().SubscribeAsync(RedisChannel.Literal("kept")).WaitAsync(TestTimeouts.Network);

        // Not reconnected since it opened: not checked, short or not.
        Assert.Equal(0, await watch.CheckAsync().WaitAsync(TestTimeouts.Network));
        Assert.Equal(0, await watch.CheckAsync().WaitAsync(TestTimeouts.Network));

        await ReconnectAsync(connection);
        var restored = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        connection.ConnectionRestored += (_, e) => { if (e.ConnectionType == ConnectionType.Subscription) restored.TrySetResult(); };
        Assert.Equal(0, await watch.CheckAsync().WaitAsync(TestTimeouts.Network)); // short once: the resubscribe may still be going
        Assert.Equal(1, await watch.CheckAsync().WaitAsync(TestTimeouts.Network));
        await restored.Task.WaitAsync(TestTimeouts.Network);

        // Made again: it holds its channel in Redis and receives on it.
        var publisher = await redis.Server.AdminAsync().WaitAsync(TestTimeouts.Network);
        var received = queue.ReadAsync().AsTask();
        var deadline = DateTime.UtcNow + TestTimeouts.Network;
        while (!received.IsCompleted && DateTime.UtcNow < deadline)
        {
            // Until the subscription is back in Redis (it follows the restored connection).
            await publisher.PublishAsync(RedisChannel.Literal(prefix + "kept"), "after").WaitAsync(TestTimeouts.Network);
            await Task.WhenAny(received, Task.Delay(100));
        }
        Assert.Equal("after", (string?)(await received.WaitAsync(TestTimeouts.Network)).Message);

        // Still short (this watch always counts one more), but not closed again within RepairPause.
        for (var check = 0; check < 4; check++)
        {
            Assert.Equal(0, await watch.CheckAsync().WaitAsync(TestTimeouts.Network));
        }
        Assert.Equal(1, watch.Repairs);
    }
}
