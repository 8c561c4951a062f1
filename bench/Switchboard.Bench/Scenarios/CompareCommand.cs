using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Switchboard.Bench.Clients;
using Switchboard.Bench.Load;
using Switchboard.Bench.Peers;
using Switchboard.Bench.Report;

namespace Switchboard.Bench.Scenarios;

/// <summary>The <c>compare</c> command: every scenario against every server, then the report.</summary>
internal static class CompareCommand
{
    public static Command Create()
    {
        var runs = new Option<int?>("--runs") { Description = "Runs of every point (default 3)." };
        var duration = new Option<double?>("--duration") { Description = "Seconds measured per point (default 5)." };
        var warmup = new Option<double?>("--warmup") { Description = "Seconds of warm-up per server process (default 15: until the JIT has finished)." };
        var servers = new Option<string[]>("--servers") { Description = "Servers to compare: " + string.Join(", ", ServerKinds.All.Select(k => k.Name())), AllowMultipleArgumentsPerToken = true };
        var scenarios = new Option<string[]>("--scenarios") { Description = "Scenarios to run: " + string.Join(", ", BenchSettings.AllScenarios), AllowMultipleArgumentsPerToken = true };
        var protocols = new Option<string[]>("--protocols") { Description = "Protocols of the SignalR servers in the fan-out scenario: json, messagepack.", AllowMultipleArgumentsPerToken = true };
        var quick = new Option<bool>("--quick") { Description = "A short validation run: one run, 2 s points, a fifth of the connections; writes no docs unless --output is given." };
        var subscribers = new Option<int?>("--subscribers") { Description = "Subscribers of the fan-out group (default 1,000)." };
        var httpConnections = new Option<int?>("--http-connections") { Description = "Connections wrk keeps open in the HTTP publish scenario, each with one request in flight (default 64)." };
        var idle = new Option<int?>("--idle") { Description = "Idle connections measured for memory (default 10,000)." };
        var max = new Option<int?>("--max-connections") { Description = "Bound of the largest-count probe (default 100,000)." };
        var sources = new Option<int?>("--source-addresses") { Description = "Loopback source addresses the connections spread over (default 8)." };
        var noLive = new Option<bool>("--no-live") { Description = "Print status lines instead of the live display." };
        var output = new Option<DirectoryInfo?>("--output") { Description = "Docs folder to write benchmarks.md and benchmarks/*.json|svg into (default: the repository's docs/)." };
        var noDocs = new Option<bool>("--no-docs") { Description = "Print the results only; write the raw JSON to the temp folder." };
        var note = new Option<string?>("--note") { Description = "A sentence about the conditions of this run, printed at the top of the report." };
        var merge = new Option<FileInfo?>("--merge") { Description = "An earlier run's raw JSON: its results are kept except for the scenario and server pairs run now, and the report covers both." };
        var command = new Command("compare", "Runs the side-by-side comparison against the built servers (bench/run.sh builds them first) and writes docs/benchmarks.md.")
        {
            runs, duration, warmup, servers, scenarios, protocols, quick, subscribers, httpConnections, idle, max, sources, noLive, output, noDocs, note, merge,
        };
        command.SetAction(async (parse, _) =>
        {
            var settings = new BenchSettings();
            if (parse.GetValue(quick)) settings.MakeQuick();
            if (parse.GetValue(runs) is { } r) settings.Runs = r;
            if (parse.GetValue(duration) is { } d) settings.Duration = TimeSpan.FromSeconds(d);
            if (parse.GetValue(warmup) is { } w) settings.Warmup = TimeSpan.FromSeconds(w);
            if (parse.GetValue(servers) is { Length: > 0 } s) settings.Servers = s.Select(ServerKinds.Parse).ToArray();
            if (parse.GetValue(scenarios) is { Length: > 0 } sc)
            {
                var unknown = sc.Except(BenchSettings.AllScenarios).ToArray();
                if (unknown.Length > 0) throw new ArgumentException($"unknown scenario(s) {string.Join(", ", unknown)}; use: {string.Join(", ", BenchSettings.AllScenarios)}");
                settings.Scenarios = BenchSettings.AllScenarios.Where(sc.Contains).ToArray();
            }
            if (parse.GetValue(protocols) is { Length: > 0 } p)
            {
                settings.Protocols = p.Select(x => x.ToLowerInvariant() switch
                {
                    "json" => WireProtocol.Json,
                    "messagepack" or "msgpack" => WireProtocol.MessagePack,
                    _ => throw new ArgumentException($"unknown protocol '{x}'; use json or messagepack"),
                }).ToArray();
            }
            if (parse.GetValue(subscribers) is { } sub) settings.Subscribers = sub;
            if (parse.GetValue(httpConnections) is { } hc) settings.HttpConnections = hc;
            if (parse.GetValue(idle) is { } i) settings.IdleConnections = i;
            if (parse.GetValue(max) is { } m) settings.MaxConnections = m;
            if (parse.GetValue(sources) is { } so) settings.SourceAddresses = so;
            settings.Live = !parse.GetValue(noLive);
            var outputFolder = parse.GetValue(output)?.FullName;
            if (!parse.GetValue(noDocs) && (outputFolder is not null || !parse.GetValue(quick)))
            {
                settings.DocsFolder = outputFolder ?? Path.Combine(Repository.Root, "docs");
            }
            return await RunAsync(settings, parse.GetValue(note), parse.GetValue(merge)?.FullName);
        });
        return command;
    }

    private static async Task<int> RunAsync(BenchSettings settings, string? note, string? mergeWith)
    {
        var earlier = mergeWith is null ? null : await MarkdownReport.ReadAsync(mergeWith);
        var started = DateTimeOffset.UtcNow;
        var machine = DescribeMachine();
        var live = new LiveStatus(settings.Live);
        var comparison = new Comparison(settings, live);
        Console.WriteLine($"compare: {string.Join(", ", settings.Scenarios)} on {string.Join(", ", settings.Servers.Select(s => s.Name()))}, " +
                          $"{settings.Runs} run(s) of {settings.Duration.TotalSeconds:N0} s per point");
        await live.RunAsync(comparison.RunAsync);
        var notes = new List<string>();
        if (note is not null) notes.Add(note);
        notes.AddRange(comparison.Notes);
        var described = settings.Describe();
        if (Version("git", $"-C {Repository.Root} log -1 --format=%h") is { Length: > 0 } commit && !commit.StartsWith("fatal", StringComparison.Ordinal))
        {
            described["commit"] = commit;
        }
        var report = new ComparisonReport(started, DateTimeOffset.UtcNow, machine, described, comparison.Results, notes);
        if (earlier is not null)
        {
            // Keep the earlier run's settings and machine (the tables' text comes from them) and add this run's scenarios.
            var rerun = comparison.Results.Select(x => (x.Scenario, x.Server)).ToHashSet();
            var describedNow = described;
            var merged = new Dictionary<string, string>(earlier.Settings);
            foreach (var (k, v) in describedNow) merged.TryAdd(k, v);
            merged["scenarios"] = string.Join(",", earlier.Settings.GetValueOrDefault("scenarios", "").Split(',').Concat(settings.Scenarios).Distinct());
            if (earlier.Settings.TryGetValue("commit", out var before) && describedNow.TryGetValue("commit", out var now) && before != now)
            {
                // Rendered inside backticks by the report: "at commit `a`, and for fanout, http `b`".
                merged["commit"] = $"{before}`, and for {string.Join(", ", settings.Scenarios)} `{now}";
            }
            report = earlier with
            {
                Finished = report.Finished,
                Settings = merged,
                Results = [.. earlier.Results.Where(x => !rerun.Contains((x.Scenario, x.Server))), .. comparison.Results],
                // An earlier note about a scenario run again (say, that it was skipped) no longer holds.
                Notes = [.. earlier.Notes.Where(n => !settings.Scenarios.Any(s => n.StartsWith(s + ":", StringComparison.Ordinal)) &&
                                                     !rerun.Any(k => n.StartsWith($"{k.Scenario} · {ServerKinds.Parse(k.Server).Title()}", StringComparison.Ordinal))), .. notes],
            };
        }
        var folder = settings.DocsFolder ?? Path.Combine(Path.GetTempPath(), "switchboard-bench");
        var json = await MarkdownReport.SaveJsonAsync(report, Path.Combine(folder, "benchmarks"));
        Console.WriteLine($"raw results: {json}");
        if (settings.DocsFolder is not null)
        {
            await MarkdownReport.WriteAsync(report, settings.DocsFolder, json);
            Console.WriteLine($"report: {Path.Combine(settings.DocsFolder, "benchmarks.md")}");
        }
        foreach (var n in comparison.Notes) Console.WriteLine($"note: {n}");
        return comparison.Results.Count > 0 ? 0 : 1;
    }

    private static MachineInfo DescribeMachine()
    {
        string Read(string path) => File.Exists(path) ? File.ReadAllText(path) : "";
        var cpu = Read("/proc/cpuinfo").Split('\n').FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown";
        var memKb = Read("/proc/meminfo").Split('\n').FirstOrDefault(l => l.StartsWith("MemTotal:", StringComparison.Ordinal))?
            .Split(' ', StringSplitOptions.RemoveEmptyEntries)[1];
        var os = Read("/etc/os-release").Split('\n').FirstOrDefault(l => l.StartsWith("PRETTY_NAME=", StringComparison.Ordinal))?[12..].Trim('"') ?? RuntimeInformation.OSDescription;
        var load = Read("/proc/loadavg").Split(' ').FirstOrDefault();
        return new MachineInfo(
            Cpu: cpu,
            Cores: Environment.ProcessorCount,
            MemoryGiB: memKb is null ? 0 : Math.Round(long.Parse(memKb, CultureInfo.InvariantCulture) / 1024.0 / 1024.0, 1),
            Os: os,
            Kernel: Read("/proc/sys/kernel/osrelease").Trim(),
            DotnetRuntime: RuntimeInformation.FrameworkDescription,
            Node: Version("node", "--version"),
            Wrk: Version("wrk", "--version")?.Split(' ').Skip(1).FirstOrDefault(),
            OpenFileLimit: ProcessStats.OpenFileLimit(Environment.ProcessId) ?? 0,
            EphemeralPorts: Read("/proc/sys/net/ipv4/ip_local_port_range").Trim().Replace('\t', '-'),
            LoadAverageAtStart: double.TryParse(load, NumberStyles.Float, CultureInfo.InvariantCulture, out var l) ? l : 0);
    }

    private static string? Version(string tool, string arg)
    {
        try
        {
            var start = new ProcessStartInfo(tool, arg) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            using var process = Process.Start(start)!;
            var text = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
            process.WaitForExit(10_000);
            return text.Split('\n')[0].Trim();
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }
}
