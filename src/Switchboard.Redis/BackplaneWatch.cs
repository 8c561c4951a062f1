using System.Collections.Concurrent;
using System.Reflection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Switchboard.Redis;

/// <summary>
/// Opens the SignalR backplane's Redis connections (one per hub) and, after a connection's
/// subscription socket reconnected, checks every <see cref="RedisOptions.HeartbeatInterval"/>
/// until it holds in Redis the subscriptions it believes it holds.
/// </summary>
/// <remarks>
/// StackExchange.Redis subscribes again by itself after a reconnect, but not always: when a
/// process notices the failure late and reconnects at once (a restarted Redis back within
/// milliseconds, on a loaded machine), a connection can come back with some channels
/// unsubscribed while the library counts them as subscribed (seen in
/// <c>FaultTests.ARedisRestartedWithoutItsData...</c>, about once in 15 runs under load). The
/// process then silently stops receiving those channels: a group's messages from other
/// processes, or SignalR's own acknowledgements. So the watch compares the channels the
/// library holds with the <c>sub</c> count Redis reports for that connection (<c>CLIENT LIST</c>,
/// found by the connection's own name) after each reconnect of its subscription socket, until it
/// finds them whole; when Redis reports fewer on two checks in a row (each looking three times,
/// 100 ms apart, since a subscribe on its way counts in the library first), it closes the connection's sockets
/// (<c>CLIENT KILL ID</c>): the library notices at once, reconnects, and subscribes everything
/// again. Warning 3010 says so. Messages published meanwhile are lost to live delivery as with
/// any backplane reconnect; Switchboard's clients fill them from history.
/// </remarks>
public sealed class BackplaneWatch : BackgroundService
{
    /// <summary>How many channels a multiplexer holds (StackExchange.Redis keeps the count internal); null if this version has no such member.</summary>
    internal static readonly Func<ConnectionMultiplexer, int>? HeldChannels = FindHeldChannels();

    /// <summary>A connection closed to be made again is not closed again for this long (a subscription Redis keeps refusing must not close it every few seconds).</summary>
    internal static readonly TimeSpan RepairPause = TimeSpan.FromMinutes(1);

    private readonly ConcurrentDictionary<string, (ConnectionMultiplexer Multiplexer, int Own)> _connections = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _short = new(StringComparer.Ordinal);
    // Connections whose subscription socket came back since they were last found whole: only those are checked.
    private readonly ConcurrentDictionary<string, bool> _reconnected = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _repairedAt = new(StringComparer.Ordinal);
    private readonly Func<ConnectionMultiplexer, int>? _heldChannels;
    private bool _refusalLogged;
    private readonly RedisOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<BackplaneWatch> _logger;

    public BackplaneWatch(IOptions<RedisOptions> options, TimeProvider time, ILogger<BackplaneWatch> logger)
        : this(options, time, logger, HeldChannels)
    {
    }

    /// <summary>With <paramref name="heldChannels"/>, what the library counts (tests make a connection short by counting more).</summary>
    internal BackplaneWatch(IOptions<RedisOptions> options, TimeProvider time, ILogger<BackplaneWatch> logger,
        Func<ConnectionMultiplexer, int>? heldChannels)
    {
        _heldChannels = heldChannels;
        _options = options.Value;
        _time = time;
        _logger = logger;
    }

    /// <summary>Backplane connections closed because Redis held fewer of their subscriptions than they did.</summary>
    internal int Repairs { get; private set; }

    /// <summary>
    /// Opens one backplane connection (SignalR's <c>RedisOptions.ConnectionFactory</c> calls this
    /// with its <c>Configuration</c>): those settings, with a name of its own so that the watch can
    /// find it among Redis's clients.
    /// </summary>
    public async Task<IConnectionMultiplexer> ConnectAsync(ConfigurationOptions settings, TextWriter log)
    {
        var configuration = settings.Clone();
        var name = (settings.ClientName ?? "switchboard-backplane") + "-" + Guid.NewGuid().ToString("N")[..12];
        configuration.ClientName = name;
        configuration.AllowAdmin = true; // CLIENT LIST and CLIENT KILL, for the watch alone
        var multiplexer = await ConnectionMultiplexer.ConnectAsync(configuration, log);
        multiplexer.ConnectionRestored += (_, e) =>
        {
            if (e.ConnectionType == ConnectionType.Subscription)
            {
                _reconnected[name] = true;
            }
        };
        // The library's own reconfiguration channel is held in Redis but not in its count.
        _connections[name] = (multiplexer, string.IsNullOrEmpty(configuration.ConfigurationChannel) ? 0 : 1);
        return multiplexer;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_heldChannels is null)
        {
            RedisLog.BackplaneWatchUnavailable(_logger, "this StackExchange.Redis version does not tell how many channels a connection holds");
            return;
        }
        using var timer = new PeriodicTimer(_options.HeartbeatInterval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await CheckAsync();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>One check of every backplane connection; returns how many were closed to be made again.</summary>
    internal async Task<int> CheckAsync()
    {
        var repaired = 0;
        foreach (var (name, (multiplexer, own)) in _connections)
        {
            if (!_reconnected.ContainsKey(name))
            {
                continue; // not reconnected since it was last found whole
            }
            try
            {
                if (await CheckAsync(name, multiplexer, own))
                {
                    repaired++;
                }
            }
            catch (RedisServerException e)
            {
                // Refused, not away: a Redis user without CLIENT LIST or CLIENT KILL. Said once.
                _short.Remove(name);
                if (!_refusalLogged)
                {
                    _refusalLogged = true;
                    RedisLog.BackplaneWatchUnavailable(_logger, e.Message);
                }
            }
            catch (Exception e) when (e is RedisException or TimeoutException or ObjectDisposedException)
            {
                // Redis away, or the connection closing: the next check looks again.
                _short.Remove(name);
            }
        }
        return repaired;
    }

    private async Task<bool> CheckAsync(string name, ConnectionMultiplexer multiplexer, int own)
    {
        var server = multiplexer.GetServers().FirstOrDefault(s => s.IsConnected && !s.IsReplica);
        var channels = _heldChannels!(multiplexer);
        var expected = channels + own;
        if (server is null || channels == 0)
        {
            _short.Remove(name);
            return false;
        }
        var (mine, held) = await HeldAsync(server, name);
        for (var again = 0; held < expected && again < 2; again++)
        {
            // A subscribe whose answer is on its way counts in the library before it does in
            // Redis: a connection joining groups can look short for a moment. Look again shortly.
            await Task.Delay(TimeSpan.FromMilliseconds(100), _time);
            expected = _heldChannels!(multiplexer) + own;
            (mine, held) = await HeldAsync(server, name);
        }
        if (held >= expected)
        {
            _short.Remove(name);
            _reconnected.TryRemove(name, out _); // whole again: not checked until its next reconnect
            return false;
        }
        // Short on every look of this check; the resubscribe may still be going: again next time.
        var times = _short[name] = _short.GetValueOrDefault(name) + 1;
        if (times < 2)
        {
            return false;
        }
        _short.Remove(name);
        if (_repairedAt.TryGetValue(name, out var last) && _time.GetElapsedTime(last) < RepairPause)
        {
            return false;
        }
        _repairedAt[name] = _time.GetTimestamp();
        RedisLog.BackplaneSubscriptionsLost(_logger, name, held, expected);
        foreach (var client in mine)
        {
            await server.ClientKillAsync(client.Id);
        }
        Repairs++;
        return true;
    }

    /// <summary>The connection's clients in Redis (found by its name), and the channels they hold there.</summary>
    private static async Task<(ClientInfo[] Clients, int Held)> HeldAsync(IServer server, string name)
    {
        var mine = (await server.ClientListAsync()).Where(c => c.Name == name).ToArray();
        return (mine, mine.Sum(c => c.SubscriptionCount + c.PatternSubscriptionCount));
    }

    private static Func<ConnectionMultiplexer, int>? FindHeldChannels()
    {
        var method = typeof(ConnectionMultiplexer).GetMethod("GetSubscriptionsCount", BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public, Type.EmptyTypes);
        return method?.ReturnType == typeof(int) ? method.CreateDelegate<Func<ConnectionMultiplexer, int>>() : null;
    }
}
