using System.Diagnostics;
using System.Text.Json;
using Switchboard.Bench.Load;
using Switchboard.Bench.Peers;

namespace Switchboard.Bench.Scenarios;

/// <summary>Runs Debian's wrk with bench/wrk/publish.lua and reads the line its done() prints.</summary>
internal static class Wrk
{
    public sealed record Result(long Requests, double Seconds, long Non2xx, long SocketErrors, double P50Ms, double P99Ms, double MaxMs, double CpuCores)
    {
        public long Requests2xx => Requests - Non2xx;
    }

    public static async Task<Result> RunAsync(string url, string body, string? token, int threads, int connections, TimeSpan duration)
    {
        var script = Path.Combine(Repository.Root, "bench", "wrk", "publish.lua");
        var start = new ProcessStartInfo("wrk") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { "-t", threads.ToString(), "-c", connections.ToString(), "-d", $"{Math.Max(1, (int)duration.TotalSeconds)}s", "--timeout", "10s", "-s", script, url })
        {
            start.ArgumentList.Add(arg);
        }
        start.Environment["BENCH_BODY"] = body;
        start.Environment["BENCH_TOKEN"] = token ?? "";
        var cpuBefore = ProcessStats.ReapedChildrenCpuTime();
        var clock = Stopwatch.StartNew();
        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException("wrk is not installed: apt-get install wrk (bench/run.sh does)", e);
        }
        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync().WaitAsync(duration + TimeSpan.FromSeconds(60));
            var wall = clock.Elapsed.TotalSeconds;
            var cpu = (ProcessStats.ReapedChildrenCpuTime() - cpuBefore).TotalSeconds;
            var line = (await stdout).Split('\n').FirstOrDefault(l => l.StartsWith("BENCH_RESULT ", StringComparison.Ordinal))
                ?? throw new InvalidOperationException($"wrk printed no result (exit {process.ExitCode}): {await stderr}");
            var json = JsonDocument.Parse(line["BENCH_RESULT ".Length..]).RootElement;
            long L(string name) => json.GetProperty(name).GetInt64();
            var seconds = L("micros") / 1e6;
            return new Result(
                Requests: L("requests"),
                Seconds: seconds,
                Non2xx: L("non2xx"),
                SocketErrors: L("connectErrors") + L("readErrors") + L("writeErrors") + L("timeouts"),
                P50Ms: L("p50us") / 1000.0,
                P99Ms: L("p99us") / 1000.0,
                MaxMs: L("maxus") / 1000.0,
                CpuCores: Math.Round(cpu / wall, 2));
        }
    }
}
