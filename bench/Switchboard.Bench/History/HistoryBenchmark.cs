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
    public sealed record Run(string Server, double PublishesPerSecond, double ServerCpuMicrosPerPublish);

    public static async Task<int> RunAsync(int runs, IReadOnlyList<int> publisherCounts, TimeSpan duration, int catchUp, string durability)
    {
        Console.WriteLine($"history durability: {durability}");
        var token = await PeerProcess.TokenAsync("bench", "Publisher");
        var series = new List<(int Publishers, List<Run> Runs)>();
        var catchUpMs = new List<double>();
        await using (var durable = await PeerProcess.StartSwitchboardAsync(new() { ["Switchboard__History__Durability"] = durability }))
        await using (var off = await PeerProcess.StartSwitchboardAsync(new() { ["Switchboard__History__Enabled"] = "false" }))
        {
            foreach (var publishers in publisherCounts)
            {
                // A first round that is not measured: both servers reach tiered (optimised) code for
                // this load before any number is taken, so run 1 does not measure the JIT.
                foreach (var server in new[] { durable, off })
                {
                    await PublishRateAsync(server, token, publishers, TimeSpan.FromSeconds(3), $"warm{publishers}");
                }
                var throughput = new List<Run>();
                for (var run = 1; run <= runs; run++)
                {
                    // Alternate the order so neither server always runs on a warmer machine.
                    foreach (var (name, server) in run % 2 == 1 ? new[] { ("history on", durable), ("history off", off) } : new[] { ("history off", off), ("history on", durable) })
                    {
                        var (rate, cpu) = await PublishRateAsync(server, token, publishers, duration, $"t{publishers}-{run}");
                        throughput.Add(new Run(name, rate, cpu));
                        Console.WriteLine($"{publishers} publishers, run {run}: {name,-12} {rate,10:N0} publishes/s, server CPU {cpu,5:N1} µs per publish ({duration.TotalSeconds:N0} s)");
                    }
                }
                series.Add((publishers, throughput));
            }
            for (var run = 1; run <= runs; run++)
            {
                var ms = await CatchUpAsync(durable.BaseUrl, token, catchUp, $"c{run}");
                catchUpMs.Add(ms);
                Console.WriteLine($"run {run}: catch-up of {catchUp:N0} missed messages in {ms:N1} ms");
            }
        }
        Console.WriteLine();
        foreach (var (publishers, throughput) in series)
        {
            var on = Median(throughput.Where(r => r.Server == "history on").Select(r => r.PublishesPerSecond));
            var offRate = Median(throughput.Where(r => r.Server == "history off").Select(r => r.PublishesPerSecond));
            // Each run measures both servers back to back, so its ratio is the one least moved by a
            // machine whose speed drifts between runs (a shared VM's does, by tens of percent).
            var ratios = Enumerable.Range(0, runs).Select(k => throughput[2 * k] is var a && throughput[2 * k + 1] is var b
                ? (a.Server == "history on" ? a.PublishesPerSecond / b.PublishesPerSecond : b.PublishesPerSecond / a.PublishesPerSecond)
                : 0).ToArray();
            var cpuOn = Median(throughput.Where(r => r.Server == "history on").Select(r => r.ServerCpuMicrosPerPublish));
            var cpuOff = Median(throughput.Where(r => r.Server == "history off").Select(r => r.ServerCpuMicrosPerPublish));
            Console.WriteLine($"{publishers} publishers: server CPU per publish (median), history on {cpuOn:N1} µs, off {cpuOff:N1} µs");
            Console.WriteLine($"{publishers} publishers: history on {on:N0}/s (spread {Spread(throughput, "history on")}), " +
                $"off {offRate:N0}/s (spread {Spread(throughput, "history off")}); on / off of the medians {on / offRate:P0}; " +
                $"median of the runs' ratios {Median(ratios):P0} (spread {ratios.Min():P0}-{ratios.Max():P0}; target at least 80%)");
        }
        Console.WriteLine($"median catch-up of {catchUp:N0}: {Median(catchUpMs):N1} ms (spread {catchUpMs.Min():N1}-{catchUpMs.Max():N1}; target under 250 ms)");
        return 0;
    }

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

    private static string Spread(List<Run> runs, string server)
    {
        var values = runs.Where(r => r.Server == server).Select(r => r.PublishesPerSecond).ToArray();
        return $"{values.Min():N0}-{values.Max():N0}";
    }
}
