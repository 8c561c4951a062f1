using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Switchboard.Bench.Clients;
using Switchboard.Bench.Load;
using Switchboard.Bench.Peers;
using Switchboard.Bench.Report;

namespace Switchboard.Bench.Scenarios;

/// <summary>
/// Runs every scenario against every server, run after run: each run of each scenario starts a
/// fresh server process, connects, warms up, measures its points and stops the server. The order
/// of the servers rotates from run to run so none always runs first on a cold machine.
/// </summary>
internal sealed class Comparison(BenchSettings settings, LiveStatus live)
{
    private static readonly Send ToGroup = (client, target, payload, ack, ct) => client.SendToGroupAsync(target, payload, ack, ct);
    /// <summary>How long a point waits for its last deliveries.</summary>
    private static readonly TimeSpan DrainLimit = TimeSpan.FromSeconds(30);

    private static readonly Send ToUser = (client, target, payload, ack, ct) => client.SendToUserAsync(target, payload, ack, ct);

    public List<PointResult> Results { get; } = [];

    public List<string> Notes { get; } = [];

    public async Task RunAsync()
    {
        foreach (var scenario in settings.Scenarios)
        {
            for (var run = 1; run <= settings.Runs; run++)
            {
                var servers = settings.Servers;
                var rotated = servers.Skip((run - 1) % servers.Length).Concat(servers.Take((run - 1) % servers.Length)).ToArray();
                foreach (var server in rotated)
                {
                    var protocols = scenario == "fanout" && server.IsSignalR() ? settings.Protocols : [WireProtocol.Json];
                    foreach (var protocol in protocols)
                    {
                        var label = $"{scenario} · {server.Title()} · {ProtocolName(server, protocol)} · run {run}/{settings.Runs}";
                        live.Begin(label);
                        try
                        {
                            await (scenario switch
                            {
                                "fanout" => FanoutAsync(server, protocol, run),
                                "groups" => GroupsAsync(server, run),
                                "users" => UsersAsync(server, run),
                                "echo" => EchoAsync(server, run),
                                "idle" => IdleAsync(server, run),
                                "http" => HttpAsync(server, run),
                                "redis" => RedisAsync(server, run),
                                _ => throw new ArgumentException($"unknown scenario '{scenario}'"),
                            });
                        }
                        catch (Exception e)
                        {
                            var note = $"{label}: failed: {e.GetType().Name}: {e.Message.Split('\n')[0]}";
                            Notes.Add(note);
                            live.Finished(note);
                        }
                    }
                }
            }
        }
    }

    internal static string ProtocolName(ServerKind server, WireProtocol protocol) =>
        !server.IsSignalR() ? "socket.io-json" : protocol == WireProtocol.MessagePack ? "messagepack" : "json";

    // ---------------------------------------------------------------- scenarios

    /// <summary>One group of N subscribers; a few publishers send to it, burst and at fixed delivery rates.</summary>
    private async Task FanoutAsync(ServerKind server, WireProtocol protocol, int run)
    {
        const string Group = "fanout";
        var n = settings.Subscribers;
        await using var setup = await SetUpAsync(server, protocol, Endpoint.Chat, n, settings.FanoutPublishers, i => $"r{i}", p => $"p{p}");
        await setup.JoinAsync(_ => [Group]);
        var flows = Enumerable.Range(0, settings.FanoutPublishers).Select(p => new Flow(p, Group, n)).ToArray();
        await setup.WarmUpAsync(flows, ToGroup, settings);
        await MeasureAsync(setup, "fanout", "burst", run, flows, d =>
            Drivers.BurstAsync(d, setup.Publishers, flows, ToGroup, settings.PayloadLength, settings.Duration, settings.MaxOutstanding).ContinueWith(_ => true));
        foreach (var rate in settings.FanoutRates)
        {
            await MeasureAsync(setup, "fanout", $"{rate / 1000}k/s", run, flows, d =>
                Drivers.FixedRateAsync(d, setup.Publishers, flows, ToGroup, settings.PayloadLength, (double)rate / n, settings.Duration, Behind(rate)),
                target: rate);
        }
    }

    /// <summary>G groups of S members: N = G connections, each a member of S groups; each group has one publisher.</summary>
    private async Task GroupsAsync(ServerKind server, int run)
    {
        var (g, s) = (settings.Groups, settings.GroupSize);
        if (g % s != 0) throw new ArgumentException("the number of groups must be a multiple of the group size");
        var stride = g / s;
        await using var setup = await SetUpAsync(server, WireProtocol.Json, Endpoint.Chat, g, settings.GroupPublishers, i => $"r{i}", p => $"p{p}");
        // Connection c joins groups c, c + G/S, c + 2G/S, ... (mod G): every group gets exactly S members.
        await setup.JoinAsync(c => Enumerable.Range(0, s).Select(k => $"g{(c + k * stride) % g}").ToArray());
        var flows = Enumerable.Range(0, g).Select(i => new Flow(i % settings.GroupPublishers, $"g{i}", s)).ToArray();
        await setup.WarmUpAsync(flows, ToGroup, settings);
        await MeasureAsync(setup, "groups", "burst", run, flows, d =>
            Drivers.BurstAsync(d, setup.Publishers, flows, ToGroup, settings.PayloadLength, settings.Duration, settings.MaxOutstanding).ContinueWith(_ => true));
        await MeasureAsync(setup, "groups", $"{settings.GroupsRate / 1000}k/s", run, flows, d =>
            Drivers.FixedRateAsync(d, setup.Publishers, flows, ToGroup, settings.PayloadLength, (double)settings.GroupsRate / s, settings.Duration, Behind(settings.GroupsRate)),
            target: settings.GroupsRate);
    }

    /// <summary>N users, one connection each, on the secure chat hub; publishers send private messages to them.</summary>
    private async Task UsersAsync(ServerKind server, int run)
    {
        var n = settings.Users;
        await using var setup = await SetUpAsync(server, WireProtocol.Json, Endpoint.SecureChat, n, settings.UserPublishers, i => $"u{i}", p => $"sender{p}");
        var flows = Enumerable.Range(0, n).Select(i => new Flow(i % settings.UserPublishers, $"u{i}", 1)).ToArray();
        await setup.WarmUpAsync(flows, ToUser, settings);
        await MeasureAsync(setup, "users", "burst", run, flows, d =>
            Drivers.BurstAsync(d, setup.Publishers, flows, ToUser, settings.PayloadLength, settings.Duration, settings.MaxOutstanding).ContinueWith(_ => true));
        await MeasureAsync(setup, "users", $"{settings.UsersRate / 1000}k/s", run, flows, d =>
            Drivers.FixedRateAsync(d, setup.Publishers, flows, ToUser, settings.PayloadLength, settings.UsersRate, settings.Duration, Behind(settings.UsersRate)),
            target: settings.UsersRate);
    }

    /// <summary>C clients, each alone in its own group, send to it and wait for their message to come back.</summary>
    private async Task EchoAsync(ServerKind server, int run)
    {
        var c = settings.EchoClients;
        await using var setup = await SetUpAsync(server, WireProtocol.Json, Endpoint.Chat, c, 0, i => $"e{i}", _ => "");
        await setup.JoinAsync(i => [$"echo{i}"]);
        var flows = Enumerable.Range(0, c).Select(i => new Flow(i, $"echo{i}", 1)).ToArray();
        var warm = new DeliveryRun(flows.Select(f => f.Receivers).ToArray(), c);
        setup.Current = warm;
        await Drivers.EchoAsync(warm, setup.Receivers, flows, ToGroup, settings.PayloadLength, settings.Warmup);
        await warm.DrainAsync(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5), CancellationToken.None);
        await MeasureAsync(setup, "echo", $"{c} clients", run, flows, d =>
            Drivers.EchoAsync(d, setup.Receivers, flows, ToGroup, settings.PayloadLength, settings.Duration).ContinueWith(_ => true),
            extra: (stats, metrics) => metrics[Metrics.RoundTripsPerSecond] = stats.DeliveriesPerSecond);
    }

    /// <summary>
    /// Idle connections: memory per connection at N (resident set and managed heap after a full
    /// collection, before and after), the connect rate, and (first run only) the largest count
    /// the server holds, up to the bound or the generator's open-file limit.
    /// </summary>
    private async Task IdleAsync(ServerKind server, int run)
    {
        await using var peer = await PeerProcess.StartAsync(server);
        using var sources = new LoopbackSources(settings.SourceAddresses);
        var idle = new List<IAsyncDisposable>();
        try
        {
            // Warm the connect path a little so the baseline includes the code the connections need.
            var (warm, warmFailure, _) = await OpenIdleAsync(peer, sources, 0, 100, settings.MaxConnectTime);
            if (warmFailure is not null) throw warmFailure;
            await DisposeAllAsync(warm);
            await Task.Delay(1000);
            live.Phase("baseline: full GC and memory");
            var before = await peer.CollectAndMeasureAsync();

            var n = settings.IdleConnections;
            var connected = 0;
            live.Phase($"opening {n:N0} idle connections", extra: () => $"{Volatile.Read(ref connected):N0} open");
            var cpu = new CpuWindow(peer.Pid);
            var (opened, failure, elapsed) = await OpenIdleAsync(peer, sources, 100, n, settings.MaxConnectTime, k => Volatile.Write(ref connected, k));
            var use = cpu.Read();
            idle.AddRange(opened);
            if (failure is not null) throw new InvalidOperationException($"only {opened.Count:N0} of {n:N0} idle connections opened: {failure.Message}", failure);
            await Task.Delay(2000);
            live.Phase("full GC and memory");
            var held = await peer.ConnectionsAsync() ?? 0;
            var after = await peer.CollectAndMeasureAsync();
            var metrics = new Dictionary<string, double>
            {
                [Metrics.Connections] = n,
                [Metrics.ConnectionsHeld] = held,
                [Metrics.ConnectsPerSecond] = n / elapsed.TotalSeconds,
                [Metrics.ResidentBytesBefore] = before.ResidentBytes,
                [Metrics.ResidentBytesAfter] = after.ResidentBytes,
                [Metrics.HeapBytesBefore] = before.HeapBytes,
                [Metrics.HeapBytesAfter] = after.HeapBytes,
                [Metrics.ResidentBytesPerConnection] = (after.ResidentBytes - before.ResidentBytes) / (double)n,
                [Metrics.HeapBytesPerConnection] = (after.HeapBytes - before.HeapBytes) / n,
                [Metrics.GeneratorCpu] = use.Generator,
                [Metrics.ServerCpu] = use.Server,
                [Metrics.MachineCpu] = use.Machine,
            };
            Add(new PointResult("idle", $"{n / 1000}k", server.Name(), ProtocolName(server, WireProtocol.Json), run, metrics));

            if (run != 1) return;
            // The largest count: keep opening until the bound, a failure, the time limit, or the generator's own open-file limit.
            var ownLimit = ProcessStats.OpenFileLimit(Environment.ProcessId) ?? long.MaxValue;
            var serverLimit = ProcessStats.OpenFileLimit(peer.Pid) ?? long.MaxValue;
            var cap = (int)Math.Min(settings.MaxConnections, ownLimit - 300);
            var more = Math.Max(0, cap - idle.Count);
            live.Phase($"probing the largest count, up to {cap:N0}", extra: () => $"{Volatile.Read(ref connected):N0} open");
            var baseCount = idle.Count;
            var (extra, extraFailure, extraElapsed) = await OpenIdleAsync(peer, sources, 100 + n, more, settings.MaxConnectTime,
                k => Volatile.Write(ref connected, baseCount + k));
            idle.AddRange(extra);
            await Task.Delay(2000);
            var rss = ProcessStats.ResidentBytes(peer.Pid) ?? 0;
            double maxHeld;
            string? afterwards = null;
            try
            {
                maxHeld = await peer.ConnectionsAsync() ?? 0;
            }
            catch (HttpRequestException e)
            {
                // The server could not be asked: count what the generator still holds open, and say why.
                maxHeld = idle.Count(c => c is IdleSignalRConnection { Closed: false } or SocketIoLoadClient { Closed: false });
                afterwards = peer.HasExited
                    ? $"; the server then exited (code {peer.ExitCode}): {peer.RecentOutput.Split('\n').LastOrDefault(l => l.Trim().Length > 0)?.Trim()}"
                    : $"; the server did not answer its metrics request ({e.Message}), so the count is the generator's";
            }
            var stoppedBy = (extraFailure is not null ? $"a connect failed after {baseCount + extra.Count:N0} were open: {extraFailure.GetBaseException().Message}"
                : cap < settings.MaxConnections ? $"the generator's open-file limit ({ownLimit:N0}; the server's is {serverLimit:N0})"
                : $"the bound of {settings.MaxConnections:N0}") + afterwards;
            Add(new PointResult("idle", "max", server.Name(), ProtocolName(server, WireProtocol.Json), run, new()
            {
                [Metrics.ConnectionsAttempted] = baseCount + more,
                [Metrics.ConnectionsOpened] = baseCount + extra.Count,
                [Metrics.ConnectionsHeld] = maxHeld,
                [Metrics.ResidentBytesAfter] = rss,
                [Metrics.ConnectsPerSecond] = extra.Count / Math.Max(extraElapsed.TotalSeconds, 1e-3),
            }) { Note = $"stopped by {stoppedBy}" });
        }
        finally
        {
            // Stop the server first: closing tens of thousands of sockets against a live server takes longer than resetting them.
            await peer.DisposeAsync();
            await DisposeAllAsync(idle);
        }
    }

    private async Task<(List<IAsyncDisposable> Opened, Exception? Failure, TimeSpan Elapsed)> OpenIdleAsync(PeerProcess peer, LoopbackSources sources,
        int first, int count, TimeSpan limit, Action<int>? progress = null)
    {
        var server = peer.Kind;
        var (opened, failure, elapsed) = await Drivers.ConnectAsync<IAsyncDisposable>(first, count, parallel: 100, async (i, ct) =>
        {
            if (server == ServerKind.SocketIo)
            {
                var client = new SocketIoLoadClient(peer.BaseUrl, null, sources, i);
                try
                {
                    await client.StartAsync(ct);
                    return client;
                }
                catch
                {
                    await client.DisposeAsync();
                    throw;
                }
            }
            var connection = new IdleSignalRConnection();
            try
            {
                await connection.StartAsync(peer.BaseUrl + "/hubs/notifications", server.IsSwitchboard() ? Tokens.Create($"idle{i}") : null, sources, i, ct);
                return connection;
            }
            catch
            {
                await connection.DisposeAsync();
                throw;
            }
        }, limit, progress);
        return (opened, failure, elapsed);
    }

    /// <summary>
    /// The HTTP publish API under wrk: Switchboard's POST /api/groups/{group}/messages (with a
    /// Publisher token from its token command), the plain server's POST
    /// /api/notifications/groups/{group} (the guide's controller), Socket.IO's POST
    /// /api/groups/{room}/messages; ten connections receive every message.
    /// </summary>
    private async Task HttpAsync(ServerKind server, int run)
    {
        const string Group = "http";
        const int Receivers = 10;
        var endpoint = server == ServerKind.PlainSignalR ? Endpoint.Notifications : Endpoint.Chat;
        await using var setup = await SetUpAsync(server, WireProtocol.Json, endpoint, Receivers, 0, i => $"h{i}", _ => "");
        long notifications = 0;
        foreach (var client in setup.Receivers)
        {
            client.Received = (_, _) => Interlocked.Increment(ref notifications);
            client.Notified = () => Interlocked.Increment(ref notifications);
        }
        await setup.JoinAsync(_ => [Group]);
        var message = new string('x', settings.PayloadLength);
        var (path, body) = server switch
        {
            ServerKind.PlainSignalR => ($"/api/notifications/groups/{Group}", JsonSerializer.Serialize(message)),
            _ => ($"/api/groups/{Group}/messages", JsonSerializer.Serialize(new { message })),
        };
        var token = server.IsSwitchboard() ? await PeerProcess.TokenAsync("bench-wrk", "Publisher") : null;
        live.Phase("wrk warm-up");
        await Wrk.RunAsync(setup.Peer.BaseUrl + path, body, token, settings.HttpThreads, settings.HttpConnections, settings.Warmup);
        await Task.Delay(500);
        Interlocked.Exchange(ref notifications, 0);
        live.Phase($"wrk, {settings.HttpConnections} connections, {settings.Duration.TotalSeconds:N0} s", extra: () => $"{Interlocked.Read(ref notifications):N0} notifications received");
        var cpu = new CpuWindow(setup.Peer.Pid);
        var result = await Wrk.RunAsync(setup.Peer.BaseUrl + path, body, token, settings.HttpThreads, settings.HttpConnections, settings.Duration);
        var use = cpu.Read();
        // Let the last notifications arrive before counting them.
        var expected = result.Requests2xx * Receivers;
        var clock = Stopwatch.StartNew();
        while (Interlocked.Read(ref notifications) < expected && clock.Elapsed < TimeSpan.FromSeconds(10)) await Task.Delay(50);
        var metrics = new Dictionary<string, double>
        {
            [Metrics.RequestsPerSecond] = result.Requests / result.Seconds,
            [Metrics.Requests] = result.Requests,
            [Metrics.Non2xx] = result.Non2xx,
            [Metrics.SocketErrors] = result.SocketErrors,
            [Metrics.P50Ms] = result.P50Ms,
            [Metrics.P99Ms] = result.P99Ms,
            [Metrics.MaxMs] = result.MaxMs,
            [Metrics.Notifications] = Interlocked.Read(ref notifications),
            [Metrics.Expected] = expected,
            [Metrics.Lost] = Math.Max(0, expected - Interlocked.Read(ref notifications)),
            [Metrics.GeneratorCpu] = use.Generator,
            [Metrics.WrkCpu] = result.CpuCores,
            [Metrics.ServerCpu] = use.Server,
            [Metrics.MachineCpu] = use.Machine,
        };
        Add(new PointResult("http", $"wrk c{settings.HttpConnections}", server.Name(), ProtocolName(server, WireProtocol.Json), run, metrics));
    }

    /// <summary>
    /// Two processes of the same server on one redis-server: the fan-out group's subscribers
    /// alternate between them, the publishers are on the first, so half the deliveries cross
    /// Redis. Switchboard scales out with ConnectionStrings:Redis (its backplane and Redis
    /// stores), the plain server with the guide's AddStackExchangeRedis, Socket.IO with
    /// @socket.io/redis-adapter. CPU counts both processes and Redis.
    /// </summary>
    private async Task RedisAsync(ServerKind server, int run)
    {
        const string Group = "fanout";
        var n = settings.Subscribers;
        live.Phase("starting redis-server and two servers");
        var redis = await RedisProcess.StartAsync();
        PeerProcess[] peers;
        try
        {
            peers = await Task.WhenAll(PeerProcess.StartAsync(server, redis.SettingsFor(server)), PeerProcess.StartAsync(server, redis.SettingsFor(server)));
        }
        catch
        {
            await redis.DisposeAsync();
            throw;
        }
        await using var setup = await SetUpOnAsync(peers, [redis], WireProtocol.Json, Endpoint.Chat, n, settings.FanoutPublishers,
            i => $"r{i}", p => $"p{p}", redis.Pid);
        await setup.JoinAsync(_ => [Group]);
        var flows = Enumerable.Range(0, settings.FanoutPublishers).Select(p => new Flow(p, Group, n)).ToArray();
        await setup.WarmUpAsync(flows, ToGroup, settings);
        await MeasureAsync(setup, "redis", "burst", run, flows, d =>
            Drivers.BurstAsync(d, setup.Publishers, flows, ToGroup, settings.PayloadLength, settings.Duration, settings.MaxOutstanding).ContinueWith(_ => true));
        var rate = settings.RedisRate;
        await MeasureAsync(setup, "redis", $"{rate / 1000}k/s", run, flows, d =>
            Drivers.FixedRateAsync(d, setup.Publishers, flows, ToGroup, settings.PayloadLength, (double)rate / n, settings.Duration, Behind(rate)),
            target: rate);
    }

    // ---------------------------------------------------------------- shared steps

    /// <summary>
    /// A fixed-rate point stops (not sustained) once a second's worth of its deliveries is in
    /// flight, or the absolute cap: past that the server is not keeping up, and what is queued
    /// must still drain in a bounded time.
    /// </summary>
    private long Behind(double deliveriesPerSecond) => Math.Min(settings.MaxOutstanding, (long)deliveriesPerSecond);

    private async Task<Setup> SetUpAsync(ServerKind server, WireProtocol protocol, Endpoint endpoint, int receivers, int publishers,
        Func<int, string> receiverUser, Func<int, string> publisherUser)
    {
        live.Phase("starting the server");
        var peer = await PeerProcess.StartAsync(server);
        return await SetUpOnAsync([peer], [], protocol, endpoint, receivers, publishers, receiverUser, publisherUser);
    }

    /// <summary>
    /// Connects receivers and publishers to started servers (which the setup then owns, with
    /// <paramref name="others"/>): receiver i to server i mod n, publishers to the first.
    /// </summary>
    private async Task<Setup> SetUpOnAsync(PeerProcess[] peers, IAsyncDisposable[] others, WireProtocol protocol, Endpoint endpoint,
        int receivers, int publishers, Func<int, string> receiverUser, Func<int, string> publisherUser, params int[] extraPids)
    {
        var setup = new Setup(peers, others, extraPids, new LoopbackSources(settings.SourceAddresses)) { Protocol = protocol, Live = live };
        try
        {
            var connected = 0;
            live.Phase($"connecting {receivers + publishers:N0}", extra: () => $"{Volatile.Read(ref connected):N0} connected");
            var (opened, failure, elapsed) = await Drivers.ConnectAsync(0, receivers + publishers, parallel: 32, async (i, ct) =>
            {
                var user = i < receivers ? receiverUser(i) : publisherUser(i - receivers);
                var client = CreateClient(i < receivers ? peers[i % peers.Length] : peers[0], endpoint, protocol, user, setup.Sources, i);
                if (i < receivers)
                {
                    var index = i;
                    client.Received = (payload, now) => setup.Current?.Arrive(index, payload, now);
                }
                try
                {
                    await client.StartAsync(ct);
                    return client;
                }
                catch
                {
                    await client.DisposeAsync();
                    throw;
                }
            }, settings.MaxConnectTime, k => Volatile.Write(ref connected, k));
            setup.All.AddRange(opened);
            if (failure is not null) throw new InvalidOperationException($"only {opened.Count} of {receivers + publishers} connections opened: {failure.GetBaseException().Message}", failure);
            setup.Receivers = opened.Take(receivers).ToArray();
            setup.Publishers = opened.Skip(receivers).ToArray();
            setup.ConnectsPerSecond = opened.Count / elapsed.TotalSeconds;
            return setup;
        }
        catch
        {
            await setup.DisposeAsync();
            throw;
        }
    }

    private static ILoadClient CreateClient(PeerProcess peer, Endpoint endpoint, WireProtocol protocol, string user, LoopbackSources sources, int index)
    {
        if (peer.Kind == ServerKind.SocketIo) return new SocketIoLoadClient(peer.BaseUrl, endpoint == Endpoint.SecureChat ? user : null, sources, index);
        // Switchboard's hubs all require a signed-in user; of the guide's hubs only the secure chat hub does.
        var token = peer.Kind.IsSwitchboard() || endpoint == Endpoint.SecureChat ? Tokens.Create(user) : null;
        // JSON: the generator's own lean client (the official client's per-delivery cost would take
        // the cores from the server under test); MessagePack: the official client.
        return protocol == WireProtocol.Json && !OfficialJsonClient
            ? new RawJsonSignalRClient(peer.BaseUrl + SignalRLoadClient.HubPath(endpoint), token, sources, index)
            : new SignalRLoadClient(peer.BaseUrl, endpoint, protocol, token, sources, index);
    }

    /// <summary>Drive JSON with the official .NET client too (SWITCHBOARD_BENCH_OFFICIAL_JSON=1), to compare the generators.</summary>
    private static readonly bool OfficialJsonClient = Environment.GetEnvironmentVariable("SWITCHBOARD_BENCH_OFFICIAL_JSON") == "1";

    private async Task MeasureAsync(Setup setup, string scenario, string point, int run, Flow[] flows, Func<DeliveryRun, Task<bool>> drive,
        double? target = null, Action<DeliveryStats, Dictionary<string, double>>? extra = null)
    {
        var deliveries = new DeliveryRun(flows.Select(f => f.Receivers).ToArray(), setup.Receivers.Length);
        setup.Current = deliveries;
        var cpu = new CpuWindow(setup.Pids);
        live.Phase($"{point}: sending", deliveries, cpu);
        var sustained = await drive(deliveries);
        live.Phase($"{point}: draining", deliveries, cpu);
        await deliveries.DrainAsync(TimeSpan.FromSeconds(2), DrainLimit, CancellationToken.None);
        var use = cpu.Read();
        var stillArriving = deliveries.Outstanding > 0 && deliveries.SinceLastArrival < TimeSpan.FromSeconds(1);
        setup.Current = null;
        var stats = deliveries.Summarise();
        var metrics = new Dictionary<string, double>
        {
            [Metrics.DeliveriesPerSecond] = stats.DeliveriesPerSecond,
            [Metrics.P50Ms] = stats.P50Ms,
            [Metrics.P99Ms] = stats.P99Ms,
            [Metrics.P999Ms] = stats.P999Ms,
            [Metrics.MaxMs] = stats.MaxMs,
            [Metrics.MeanMs] = stats.MeanMs,
            [Metrics.Sent] = stats.Sent,
            [Metrics.Expected] = stats.Expected,
            [Metrics.Delivered] = stats.Delivered,
            [Metrics.Lost] = stats.Lost,
            [Metrics.Reordered] = stats.Reordered,
            [Metrics.Duplicates] = stats.Duplicates,
            [Metrics.Errors] = stats.Errors,
            [Metrics.GeneratorCpu] = use.Generator,
            [Metrics.ServerCpu] = use.Server,
            [Metrics.MachineCpu] = use.Machine,
            [Metrics.ConnectsPerSecond] = setup.ConnectsPerSecond,
        };
        if (target is { } t)
        {
            metrics[Metrics.TargetPerSecond] = t;
            metrics[Metrics.Sustained] = sustained && stats.Lost == 0 && stats.DeliveriesPerSecond >= 0.9 * t ? 1 : 0;
        }
        extra?.Invoke(stats, metrics);
        var protocol = ProtocolName(setup.Peer.Kind, setup.Protocol);
        var note = setup.Peers.FirstOrDefault(p => p.HasExited) is { } exited ? $"the server exited: {exited.RecentOutput}"
            : stillArriving ? $"{stats.Lost:N0} deliveries were still arriving when the {DrainLimit.TotalSeconds:N0} s drain ended; counted as lost"
            : !sustained ? "stopped early: more than a second of deliveries behind"
            : null;
        Add(new PointResult(scenario, point, setup.Peer.Kind.Name(), protocol, run, metrics) { Note = note });
    }

    private void Add(PointResult result)
    {
        Results.Add(result);
        var m = result.Metrics;
        string F(string key, string format) => m.TryGetValue(key, out var v) ? v.ToString(format, CultureInfo.InvariantCulture) : "-";
        var line = result.Scenario switch
        {
            "idle" when result.Point == "max" => $"held {F(Metrics.ConnectionsHeld, "N0")} ({result.Note})",
            "idle" => $"{F(Metrics.ResidentBytesPerConnection, "N0")} B RSS/conn, {F(Metrics.HeapBytesPerConnection, "N0")} B heap/conn, {F(Metrics.ConnectsPerSecond, "N0")} connects/s",
            "http" => $"{F(Metrics.RequestsPerSecond, "N0")} req/s, p99 {F(Metrics.P99Ms, "N1")} ms, non-2xx {F(Metrics.Non2xx, "N0")}, wrk CPU {F(Metrics.WrkCpu, "N2")}",
            _ => $"{F(Metrics.DeliveriesPerSecond, "N0")}/s, p50 {F(Metrics.P50Ms, "N1")} ms, p99 {F(Metrics.P99Ms, "N1")} ms, lost {F(Metrics.Lost, "N0")}, " +
                 $"reordered {F(Metrics.Reordered, "N0")}, CPU gen {F(Metrics.GeneratorCpu, "N2")} srv {F(Metrics.ServerCpu, "N2")}",
        };
        live.Finished($"{result.Scenario} {result.Point} · {result.Server} · {result.Protocol} · run {result.Run}: {line}");
    }

    private static async Task DisposeAllAsync<T>(IEnumerable<T> items) where T : IAsyncDisposable
    {
        using var gate = new SemaphoreSlim(64);
        await Task.WhenAll(items.Select(async item =>
        {
            await gate.WaitAsync();
            try
            {
                await item.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
            }
            catch (Exception)
            {
                // A connection that does not close cleanly is dropped with its socket; nothing to measure here.
            }
            finally
            {
                gate.Release();
            }
        }));
    }

    /// <summary>A started server, its connections, and the run their receivers report to.</summary>
    private sealed class Setup(PeerProcess[] peers, IAsyncDisposable[] others, int[] extraPids, LoopbackSources sources) : IAsyncDisposable
    {
        private volatile DeliveryRun? _current;

        public PeerProcess[] Peers { get; } = peers;

        /// <summary>The first server: publishers connect to it; its kind names the results.</summary>
        public PeerProcess Peer => Peers[0];

        /// <summary>Every process whose CPU counts as the server's: the servers and what they share (Redis).</summary>
        public int[] Pids => [.. Peers.Select(p => p.Pid), .. extraPids];

        public LoopbackSources Sources { get; } = sources;

        public WireProtocol Protocol { get; set; }

        public List<ILoadClient> All { get; } = [];

        public ILoadClient[] Receivers { get; set; } = [];

        public ILoadClient[] Publishers { get; set; } = [];

        public double ConnectsPerSecond { get; set; }

        public LiveStatus? Live { get; set; }

        public DeliveryRun? Current
        {
            get => _current;
            set => _current = value;
        }

        public async Task JoinAsync(Func<int, string[]> groups)
        {
            Live?.Phase("joining groups");
            using var gate = new SemaphoreSlim(32);
            await Task.WhenAll(Receivers.Select(async (client, i) =>
            {
                await gate.WaitAsync();
                try
                {
                    foreach (var group in groups(i))
                    {
                        using var timeout = new CancellationTokenSource(Drivers.SendTimeout);
                        await client.JoinAsync(group, timeout.Token);
                    }
                }
                finally
                {
                    gate.Release();
                }
            }));
        }

        /// <summary>A burst whose figures are thrown away: JIT, tiered compilation, pools and caches settle first.</summary>
        public async Task WarmUpAsync(Flow[] flows, Send send, BenchSettings settings)
        {
            Live?.Phase("warming up");
            var warm = new DeliveryRun(flows.Select(f => f.Receivers).ToArray(), Receivers.Length);
            Current = warm;
            await Drivers.BurstAsync(warm, Publishers, flows, send, settings.PayloadLength, settings.Warmup, settings.MaxOutstanding);
            await warm.DrainAsync(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(20), CancellationToken.None);
            Current = null;
        }

        public async ValueTask DisposeAsync()
        {
            Current = null;
            await DisposeAllAsync(All);
            foreach (var peer in Peers) await peer.DisposeAsync();
            foreach (var other in others) await other.DisposeAsync();
            Sources.Dispose();
        }
    }
}
