using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Switchboard.Bench.Clients;
using Switchboard.Bench.Load;
using Switchboard.Bench.Peers;

namespace Switchboard.Bench.Soak;

/// <summary>Settings of one soak run.</summary>
internal sealed record SoakSettings(int Connections, TimeSpan Duration, int ChurnPerSecond, int MessagesPerSecond,
    TimeSpan SampleEvery, int SourceAddresses);

/// <summary>One reading of the server during a soak.</summary>
internal sealed record SoakSample(double Minutes, long ResidentBytes, double HeapBytes, long? Connections,
    long Delivered, long Published, long Reconnected, long Errors);

/// <summary>A soak run's settings, samples and verdict, as written to JSON.</summary>
internal sealed record SoakResult(DateTime Started, DateTime Ended, string Machine, SoakSettings Settings,
    List<SoakSample> Samples, SoakSample First, SoakSample Last, long Delivered, long Published, long Reconnected,
    long Errors, long Lost, double HeapGrowthPercent, double ResidentGrowthPercent);

/// <summary>
/// The soak (issue 7): Switchboard with durable history on holds <see cref="SoakSettings.Connections"/>
/// secure-chat connections, one user each, for <see cref="SoakSettings.Duration"/>, while private
/// messages go through the publish path (history, fan-out) at a fixed rate and
/// <see cref="SoakSettings.ChurnPerSecond"/> connections a second are closed and opened again.
/// Every <see cref="SoakSettings.SampleEvery"/> the server's resident set and managed heap are read
/// after a forced full collection, so the series shows what the server keeps, not garbage not yet
/// collected. Memory is flat when the last reading is within a few percent of the first one taken
/// after warm-up. Everything is bounded: the run stops at its duration, every wait has a timeout.
/// </summary>
internal static class SoakBenchmark
{
    private static readonly TimeSpan Warmup = TimeSpan.FromSeconds(60);

    public static async Task<int> RunAsync(SoakSettings settings, string? output)
    {
        var started = DateTime.UtcNow;
        Console.WriteLine($"soak: {settings.Connections:N0} connections, {settings.Duration.TotalMinutes:N0} min, churn {settings.ChurnPerSecond}/s, {settings.MessagesPerSecond}/s private messages");
        await using var server = await PeerProcess.StartAsync(ServerKind.SwitchboardHistoryOn);
        using var sources = new LoopbackSources(settings.SourceAddresses);
        var hub = server.BaseUrl;
        long delivered = 0, published = 0, reconnected = 0, errors = 0;

        SignalRLoadClient NewClient(int i)
        {
            var client = new SignalRLoadClient(hub, Endpoint.SecureChat, WireProtocol.Json, Tokens.Create(UserId(i)), sources, i);
            client.Received = (_, _) => Interlocked.Increment(ref delivered);
            return client;
        }

        var clients = new SignalRLoadClient?[settings.Connections];
        var (opened, failure, elapsed) = await Drivers.ConnectAsync(0, settings.Connections, 64, async (i, ct) =>
        {
            var client = NewClient(i);
            await client.StartAsync(ct);
            clients[i] = client;
            return client;
        }, TimeSpan.FromMinutes(5), n => { if (n % 1000 == 0) Console.WriteLine($"  ... {n:N0} connected"); });
        if (failure is not null)
        {
            Console.Error.WriteLine($"soak: connecting stopped after {opened.Count:N0}: {failure.Message}");
            return 1;
        }
        Console.WriteLine($"  {opened.Count:N0} connected in {elapsed.TotalSeconds:N1} s");

        var publisher = NewClient(settings.Connections);
        await publisher.StartAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));
        var clock = Stopwatch.StartNew();
        var end = Warmup + settings.Duration;
        using var stop = new CancellationTokenSource(end + TimeSpan.FromMinutes(1)); // a bound even if the loops misbehave

        var publishing = Task.Run(async () =>
        {
            var random = new Random(1);
            var ticks = Stopwatch.Frequency / (double)settings.MessagesPerSecond;
            var start = Stopwatch.GetTimestamp();
            long i = 0;
            while (clock.Elapsed < end && !stop.IsCancellationRequested)
            {
                var due = (long)(Stopwatch.GetElapsedTime(start).TotalSeconds * settings.MessagesPerSecond);
                for (; i < due; i++)
                {
                    using var timeout = new CancellationTokenSource(Drivers.SendTimeout);
                    try
                    {
                        await publisher.SendToUserAsync(UserId(random.Next(settings.Connections)), $"soak {i}", acknowledged: false, timeout.Token);
                        Interlocked.Increment(ref published);
                    }
                    catch (Exception e) when (e is not OutOfMemoryException)
                    {
                        Interlocked.Increment(ref errors);
                    }
                }
                await Task.Delay(5);
            }
        });

        var churning = Task.Run(async () =>
        {
            var random = new Random(2);
            while (clock.Elapsed < end && !stop.IsCancellationRequested)
            {
                var second = Task.Delay(1000);
                await Task.WhenAll(Enumerable.Range(0, settings.ChurnPerSecond).Select(_ => random.Next(settings.Connections)).Distinct().Select(async i =>
                {
                    using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                    try
                    {
                        if (clients[i] is { } old)
                        {
                            clients[i] = null;
                            await old.DisposeAsync().AsTask().WaitAsync(timeout.Token);
                        }
                        var fresh = NewClient(i);
                        await fresh.StartAsync(timeout.Token);
                        clients[i] = fresh;
                        Interlocked.Increment(ref reconnected);
                    }
                    catch (Exception e) when (e is not OutOfMemoryException)
                    {
                        Interlocked.Increment(ref errors);
                    }
                }));
                await second;
            }
        });

        var samples = new List<SoakSample>();
        async Task<SoakSample> SampleAsync()
        {
            var memory = await server.CollectAndMeasureAsync();
            var sample = new SoakSample(Math.Round((clock.Elapsed - Warmup).TotalMinutes, 2), memory.ResidentBytes, memory.HeapBytes,
                await server.ConnectionsAsync(), Interlocked.Read(ref delivered), Interlocked.Read(ref published),
                Interlocked.Read(ref reconnected), Interlocked.Read(ref errors));
            Console.WriteLine($"  t={sample.Minutes,6:N1} min  RSS {sample.ResidentBytes / 1048576.0,7:N1} MiB  heap {sample.HeapBytes / 1048576.0,7:N1} MiB  " +
                $"connections {sample.Connections:N0}  published {sample.Published:N0}  delivered {sample.Delivered:N0}  reconnects {sample.Reconnected:N0}  errors {sample.Errors:N0}");
            return sample;
        }

        await Task.Delay(Warmup, stop.Token);
        var first = await SampleAsync();
        samples.Add(first);
        while (clock.Elapsed < end)
        {
            var wait = Math.Min(settings.SampleEvery.TotalMilliseconds, (end - clock.Elapsed).TotalMilliseconds);
            if (wait > 0) await Task.Delay(TimeSpan.FromMilliseconds(wait), stop.Token);
            if (server.HasExited) break;
            samples.Add(await SampleAsync());
        }
        await Task.WhenAll(publishing, churning).WaitAsync(TimeSpan.FromMinutes(2));
        // Let the last messages arrive (a private message to a user who was reconnecting at the
        // time is lost live, by design: such a client recovers it from history).
        var settled = Stopwatch.StartNew();
        long before;
        do
        {
            before = Interlocked.Read(ref delivered);
            await Task.Delay(500);
        } while (Interlocked.Read(ref delivered) != before && settled.Elapsed < TimeSpan.FromSeconds(30));
        var last = samples[^1] with { Delivered = Interlocked.Read(ref delivered) };
        samples[^1] = last;

        if (server.HasExited)
        {
            Console.Error.WriteLine($"soak: the server exited ({server.ExitCode}):\n{server.RecentOutput}");
        }
        foreach (var client in clients)
        {
            if (client is not null) await client.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10)).ContinueWith(_ => { });
        }
        await publisher.DisposeAsync();

        var result = new SoakResult(started, DateTime.UtcNow, Machine(), settings, samples, first, last,
            last.Delivered, last.Published, last.Reconnected, last.Errors, Math.Max(0, last.Published - last.Delivered),
            Growth(first.HeapBytes, last.HeapBytes), Growth(first.ResidentBytes, last.ResidentBytes));
        Console.WriteLine($"soak: heap {Growth(first.HeapBytes, last.HeapBytes):+0.0;-0.0} %, resident set {Growth(first.ResidentBytes, last.ResidentBytes):+0.0;-0.0} % " +
            $"from minute 0 to {last.Minutes:N1}; {result.Published:N0} published, {result.Delivered:N0} delivered, {result.Reconnected:N0} reconnects, {result.Errors:N0} errors");
        if (output is not null)
        {
            await WriteAsync(result, output);
        }
        return server.HasExited ? 1 : 0;
    }

    private static string UserId(int i) => $"soak-{i}";

    private static double Growth(double first, double last) => first <= 0 ? 0 : Math.Round((last - first) / first * 100, 1);

    private static string Machine() =>
        $"{Environment.ProcessorCount} cores, {GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 1073741824.0:N1} GiB, .NET {Environment.Version}";

    private const string Begin = "<!-- BEGIN soak: generated by `Switchboard.Bench soak`; edits between these markers are overwritten -->";
    private const string End = "<!-- END soak -->";

    /// <summary>Writes the raw JSON to docs/benchmarks/ and the soak section of docs/benchmarks.md.</summary>
    private static async Task WriteAsync(SoakResult result, string docs)
    {
        var folder = Path.Combine(docs, "benchmarks");
        Directory.CreateDirectory(folder);
        var name = $"soak-{result.Started:yyyyMMdd-HHmm}.json";
        await File.WriteAllTextAsync(Path.Combine(folder, name), JsonSerializer.Serialize(result, new JsonSerializerOptions { WriteIndented = true }));

        var s = result.Settings;
        var md = new StringBuilder();
        md.AppendLine(Begin);
        md.AppendLine("## Soak: memory under churn (issue 7)");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"Taken {result.Started:yyyy-MM-dd HH:mm} UTC to {result.Ended:HH:mm} UTC by `dotnet bench/Switchboard.Bench/bin/Release/net10.0/Switchboard.Bench.dll soak` on {result.Machine}. Raw results: [{name}](benchmarks/{name}).");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"Switchboard with durable history on (SQLite) holds {s.Connections:N0} secure-chat connections (official .NET client, JSON, one user each) for {s.Duration.TotalMinutes:N0} minutes after a {Warmup.TotalSeconds:N0} s warm-up. Meanwhile {s.MessagesPerSecond:N0} private messages a second go through the publish path (stored, then delivered) to random users, and {s.ChurnPerSecond} connections a second are closed and opened again. Each reading follows a forced full garbage collection in the server, so it shows what the server keeps.");
        md.AppendLine();
        md.AppendLine("| minute | resident set | managed heap | connections | published | delivered | reconnects | errors |");
        md.AppendLine("|---|---|---|---|---|---|---|---|");
        foreach (var x in result.Samples)
        {
            md.AppendLine(CultureInfo.InvariantCulture,
                $"| {x.Minutes:N1} | {x.ResidentBytes / 1048576.0:N1} MiB | {x.HeapBytes / 1048576.0:N1} MiB | {x.Connections:N0} | {x.Published:N0} | {x.Delivered:N0} | {x.Reconnected:N0} | {x.Errors:N0} |");
        }
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture,
            $"From the first reading to the last: managed heap **{result.HeapGrowthPercent:+0.0;-0.0} %**, resident set **{result.ResidentGrowthPercent:+0.0;-0.0} %**. {result.Published:N0} messages published, {result.Delivered:N0} delivered live ({result.Lost:N0} not delivered live: sent to a user while that user was reconnecting; they are in history for recovery), {result.Reconnected:N0} reconnects, {result.Errors:N0} errors.");
        md.AppendLine(End);

        var path = Path.Combine(docs, "benchmarks.md");
        var text = File.Exists(path) ? await File.ReadAllTextAsync(path) : "# Benchmarks\n";
        var b = text.IndexOf(Begin, StringComparison.Ordinal);
        var e = text.IndexOf(End, StringComparison.Ordinal);
        text = b >= 0 && e > b
            ? text[..b] + md.ToString().TrimEnd('\n') + text[(e + End.Length)..]
            : text.TrimEnd('\n') + "\n\n" + md;
        await File.WriteAllTextAsync(path, text);
        Console.WriteLine($"soak: wrote {path} and {Path.Combine(folder, name)}");
    }
}
