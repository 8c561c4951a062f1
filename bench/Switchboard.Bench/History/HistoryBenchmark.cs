using System.Diagnostics;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using Switchboard.Bench.Load;
using Switchboard.Bench.Peers;
using Switchboard.Contracts;

namespace Switchboard.Bench.History;

/// <summary>
/// Issue 3's benchmark: publish throughput with durable history on and off (two server
/// processes, same run, same load), and the time a client takes to catch up on 10,000 missed
/// messages. Every loop is bounded in count and time.
/// </summary>
internal static class HistoryBenchmark
{
    public sealed record Run(int Number, int Publishers, string Server, double PublishesPerSecond, double ServerCpuMicrosPerPublish);

    /// <summary>
    /// Publish rates of both servers at each publisher count, every run going through all counts
    /// with the two servers back to back, then the catch-up. Reports per count, and the ratio of
    /// the two servers' peak rates within each run: each server's throughput is the most it
    /// publishes at any of the counts, and a run's counts are taken within minutes of each other,
    /// so a machine whose speed drifts between runs moves both peaks alike.
    /// </summary>
    public static async Task<int> RunAsync(int runs, IReadOnlyList<int> publisherCounts, TimeSpan duration, int catchUp, string durability)
    {
        Console.WriteLine($"history durability: {durability}");
        var token = await PeerProcess.TokenAsync("bench", "Publisher");
        var results = new List<Run>();
        var catchUpMs = new List<double>();
        await using (var durable = await PeerProcess.StartSwitchboardAsync(new() { ["Switchboard__History__Durability"] = durability }))
        await using (var off = await PeerProcess.StartSwitchboardAsync(new() { ["Switchboard__History__Enabled"] = "false" }))
        {
            // A first round that is not measured: both servers reach tiered (optimised) code for
            // every load before any number is taken, so run 1 does not measure the JIT (which
            // keeps compiling for about 15 s of load: 5 s at each of the default three counts).
            foreach (var publishers in publisherCounts)
            {
                foreach (var server in new[] { durable, off })
                {
                    await PublishRateAsync(server, token, publishers, TimeSpan.FromSeconds(5), $"warm{publishers}");
                }
            }
            for (var run = 1; run <= runs; run++)
            {
                foreach (var publishers in publisherCounts)
                {
                    // Alternate the order so neither server always runs on a warmer machine.
                    foreach (var (name, server) in run % 2 == 1 ? new[] { (On, durable), (Off, off) } : new[] { (Off, off), (On, durable) })
                    {
                        var (rate, cpu) = await PublishRateAsync(server, token, publishers, duration, $"t{publishers}-{run}");
                        results.Add(new Run(run, publishers, name, rate, cpu));
                        Console.WriteLine($"run {run}, {publishers} publishers: {name,-12} {rate,10:N0} publishes/s, server CPU {cpu,5:N1} µs per publish ({duration.TotalSeconds:N0} s)");
                    }
                }
            }
            for (var run = 1; run <= runs; run++)
            {
                var ms = await CatchUpAsync(durable.BaseUrl, token, catchUp, $"c{run}");
                catchUpMs.Add(ms);
                Console.WriteLine($"run {run}: catch-up of {catchUp:N0} missed messages in {ms:N1} ms");
            }
        }
        Console.WriteLine();
        foreach (var publishers in publisherCounts)
        {
            var level = results.Where(r => r.Publishers == publishers).ToList();
            var on = Median(Rates(level, On));
            var offRate = Median(Rates(level, Off));
            // Each run measures both servers back to back, so its ratio is the one least moved by a
            // machine whose speed drifts between runs (a shared VM's does, by tens of percent).
            var ratios = level.GroupBy(r => r.Number).Select(g => Rate(g, On) / Rate(g, Off)).ToArray();
            var cpuOn = Median(level.Where(r => r.Server == On).Select(r => r.ServerCpuMicrosPerPublish));
            var cpuOff = Median(level.Where(r => r.Server == Off).Select(r => r.ServerCpuMicrosPerPublish));
            Console.WriteLine($"{publishers} publishers: history on {on:N0}/s ({Spread(Rates(level, On))}), off {offRate:N0}/s ({Spread(Rates(level, Off))}); " +
                $"median of the runs' ratios {Median(ratios):P0} ({ratios.Min():P0}-{ratios.Max():P0}); server CPU per publish, on {cpuOn:N1} µs, off {cpuOff:N1} µs");
        }
        var peaks = results.GroupBy(r => r.Number)
            .Select(g => g.Where(r => r.Server == On).Max(r => r.PublishesPerSecond) / g.Where(r => r.Server == Off).Max(r => r.PublishesPerSecond))
            .ToArray();
        Console.WriteLine($"throughput (each server's peak over the counts, per run): history on / off, median of the runs {Median(peaks):P0} " +
            $"({peaks.Min():P0}-{peaks.Max():P0}; target at least 80%)");
        Console.WriteLine($"median catch-up of {catchUp:N0}: {Median(catchUpMs):N1} ms ({Spread(catchUpMs, "N1")}; target under 250 ms)");
        return 0;
    }

    private const string On = "history on", Off = "history off";

    private static IEnumerable<double> Rates(IEnumerable<Run> runs, string server) =>
        runs.Where(r => r.Server == server).Select(r => r.PublishesPerSecond);

    private static double Rate(IEnumerable<Run> run, string server) => run.Single(r => r.Server == server).PublishesPerSecond;

    /// <summary>
    /// Many connections invoking Publish back to back on one group, with one subscriber receiving
    /// every envelope: publishes per second, and the server's CPU time (user and system, from
    /// /proc) per publish over the measured window.
    /// </summary>
    private static async Task<(double Rate, double CpuMicrosPerPublish)> PublishRateAsync(PeerProcess server, string token, int publishers, TimeSpan duration, string group)
    {
        var connections = await Task.WhenAll(Enumerable.Range(0, publishers + 1).Select(_ => ConnectAsync(server.BaseUrl, token)));
        try
        {
            var received = 0L;
            connections[0].On<GroupEnvelope>(ClientEvents.ReceiveGroupMessage, _ => Interlocked.Increment(ref received));
            await connections[0].InvokeAsync<SubscribeResult>(HubMethods.Subscribe, group, new SubscribeRequest());
            // Warm up, then measure.
            await LoadAsync(connections[1..], group, TimeSpan.FromSeconds(1));
            var cpuBefore = ProcessStats.CpuTime(server.Pid) ?? TimeSpan.Zero;
            var published = await LoadAsync(connections[1..], group, duration);
            var cpu = (ProcessStats.CpuTime(server.Pid) ?? TimeSpan.Zero) - cpuBefore;
            return (published / duration.TotalSeconds, published == 0 ? 0 : cpu.TotalMicroseconds / published);
        }
        finally
        {
            await Task.WhenAll(connections.Select(c => c.DisposeAsync().AsTask()));
        }
    }

    private static async Task<long> LoadAsync(HubConnection[] publishers, string group, TimeSpan duration)
    {
        var count = 0L;
        var stop = Stopwatch.StartNew();
        await Task.WhenAll(publishers.Select(async connection =>
        {
            var request = new PublishRequest { Message = new string('x', 100) };
            while (stop.Elapsed < duration)
            {
                await connection.InvokeAsync<PublishResult>(HubMethods.Publish, group, request);
                Interlocked.Increment(ref count);
            }
        }));
        return count;
    }

    /// <summary>Publishes <paramref name="missed"/> messages, then times Subscribe-with-recovery plus paging until all have arrived.</summary>
    private static async Task<double> CatchUpAsync(string baseUrl, string token, int missed, string group)
    {
        await using var writer = await ConnectAsync(baseUrl, token);
        var first = await writer.InvokeAsync<SubscribeResult>(HubMethods.Subscribe, group, new SubscribeRequest());
        var batch = new List<Task>();
        for (var i = 0; i < missed; i++)
        {
            batch.Add(writer.InvokeAsync<PublishResult>(HubMethods.Publish, group, new PublishRequest { Message = $"missed message {i}" }));
            if (batch.Count == 256) { await Task.WhenAll(batch); batch.Clear(); }
        }
        await Task.WhenAll(batch);

        await using var reader = await ConnectAsync(baseUrl, token);
        var clock = Stopwatch.StartNew();
        var result = await reader.InvokeAsync<SubscribeResult>(HubMethods.Subscribe, group,
            new SubscribeRequest { Offset = first.Offset, Epoch = first.Epoch });
        var got = result.Messages.Count;
        var last = result.Messages.Count > 0 ? result.Messages[^1].Offset : first.Offset;
        var more = result.HasMore;
        while (more)
        {
            var page = await reader.InvokeAsync<HistoryPageDto>(HubMethods.GetHistory, group, last, 500);
            got += page.Messages.Count;
            last = page.Messages[^1].Offset;
            more = page.HasMore;
        }
        clock.Stop();
        if (!result.Recovered || got != missed) throw new InvalidOperationException($"catch-up got {got} of {missed} (recovered: {result.Recovered})");
        return clock.Elapsed.TotalMilliseconds;
    }

    private static async Task<HubConnection> ConnectAsync(string baseUrl, string token)
    {
        var connection = new HubConnectionBuilder()
            .WithUrl(baseUrl + HubRoutes.Chat, o =>
            {
                o.Transports = HttpTransportType.WebSockets;
                o.SkipNegotiation = true;
                o.AccessTokenProvider = () => Task.FromResult<string?>(token);
            })
            .Build();
        await connection.StartAsync().WaitAsync(TimeSpan.FromSeconds(30));
        return connection;
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? 0 : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private static string Spread(IEnumerable<double> values, string format = "N0")
    {
        var all = values.ToArray();
        return $"{all.Min().ToString(format, System.Globalization.CultureInfo.InvariantCulture)}-{all.Max().ToString(format, System.Globalization.CultureInfo.InvariantCulture)}";
    }
}
