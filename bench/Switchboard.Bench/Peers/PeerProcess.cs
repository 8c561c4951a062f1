using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Diagnostics.NETCore.Client;
using Switchboard.Bench.Clients;
using Switchboard.Bench.Load;

namespace Switchboard.Bench.Peers;

/// <summary>The servers the benchmark compares.</summary>
internal enum ServerKind
{
    /// <summary>Switchboard with durable history (the default: SQLite, fsync before acknowledging).</summary>
    SwitchboardHistoryOn,

    /// <summary>Switchboard with <c>Switchboard:History:Enabled=false</c>.</summary>
    SwitchboardHistoryOff,

    /// <summary>The guide's plain SignalR server (bench/peers/PlainSignalR).</summary>
    PlainSignalR,

    /// <summary>Socket.IO 4.8.4 on Node (bench/peers/socketio).</summary>
    SocketIo,
}

internal static class ServerKinds
{
    public static readonly ServerKind[] All = Enum.GetValues<ServerKind>();

    /// <summary>The name in tables and JSON.</summary>
    public static string Name(this ServerKind kind) => kind switch
    {
        ServerKind.SwitchboardHistoryOn => "switchboard",
        ServerKind.SwitchboardHistoryOff => "switchboard-nohistory",
        ServerKind.PlainSignalR => "plain-signalr",
        ServerKind.SocketIo => "socketio",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    public static string Title(this ServerKind kind) => kind switch
    {
        ServerKind.SwitchboardHistoryOn => "Switchboard, history on",
        ServerKind.SwitchboardHistoryOff => "Switchboard, history off",
        ServerKind.PlainSignalR => "plain SignalR (the guide's)",
        ServerKind.SocketIo => "Socket.IO 4.8.4",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    public static bool IsSignalR(this ServerKind kind) => kind != ServerKind.SocketIo;

    public static bool IsSwitchboard(this ServerKind kind) => kind is ServerKind.SwitchboardHistoryOn or ServerKind.SwitchboardHistoryOff;

    public static ServerKind Parse(string name) =>
        All.FirstOrDefault(k => string.Equals(k.Name(), name, StringComparison.OrdinalIgnoreCase), (ServerKind)(-1)) is var kind && kind >= 0
            ? kind
            : throw new ArgumentException($"unknown server '{name}'; use one of: {string.Join(", ", All.Select(k => k.Name()))}");
}

/// <summary>
/// One server under test as its own process on 127.0.0.1 and a free port, started from the
/// built output with a fresh data folder, stopped (killed) on dispose. Every wait is bounded.
/// </summary>
internal sealed partial class PeerProcess : IAsyncDisposable
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(30) };
    private readonly Process _process;
    private readonly string? _data;
    private readonly List<string> _output;

    private PeerProcess(ServerKind kind, Process process, string? data, string baseUrl, List<string> output) =>
        (Kind, _process, _data, BaseUrl, _output) = (kind, process, data, baseUrl, output);

    public ServerKind Kind { get; }

    public string BaseUrl { get; }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public int? ExitCode => _process.HasExited ? _process.ExitCode : null;

    /// <summary>The last lines the process printed (its errors, when something went wrong).</summary>
    public string RecentOutput
    {
        get
        {
            lock (_output) return string.Join('\n', _output.TakeLast(20));
        }
    }

    /// <summary>Settings every Switchboard under test gets: limits that would cap a load test off, quiet logs.</summary>
    public static Dictionary<string, string> SwitchboardSettings(ServerKind kind, string data)
    {
        var settings = new Dictionary<string, string>
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["Jwt__Key"] = Tokens.Key,
            ["Switchboard__History__DataFolder"] = data,
            // The benchmark measures capacity: the per-connection, per-caller and per-user limits would cap it.
            ["Switchboard__Limits__InvocationsPerSecond"] = "0",
            ["Switchboard__Limits__HttpRequestsPerSecond"] = "0",
            ["Switchboard__Limits__MaxConnectionsPerUser"] = "0",
            ["Logging__LogLevel__Default"] = "Warning",
            ["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information",
        };
        if (kind == ServerKind.SwitchboardHistoryOff) settings["Switchboard__History__Enabled"] = "false";
        return settings;
    }

    public static Task<PeerProcess> StartAsync(ServerKind kind, Dictionary<string, string>? extra = null)
    {
        string? data = null;
        ProcessStartInfo start;
        switch (kind)
        {
            case ServerKind.SwitchboardHistoryOn or ServerKind.SwitchboardHistoryOff:
                data = Directory.CreateTempSubdirectory("switchboard-bench-").FullName;
                start = Dotnet(Repository.SwitchboardDll, SwitchboardSettings(kind, data));
                break;
            case ServerKind.PlainSignalR:
                start = Dotnet(Repository.PlainSignalRDll, new()
                {
                    ["ASPNETCORE_ENVIRONMENT"] = "Production",
                    ["Jwt__Key"] = Tokens.Key,
                    ["Jwt__Issuer"] = Tokens.Issuer,
                    ["Jwt__Audience"] = Tokens.Audience,
                    ["Logging__LogLevel__Default"] = "Warning",
                    ["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information",
                });
                break;
            case ServerKind.SocketIo:
                if (!Directory.Exists(Path.Combine(Repository.SocketIoFolder, "node_modules", "socket.io")))
                {
                    throw new InvalidOperationException($"socket.io is not installed: run 'npm ci' in {Repository.SocketIoFolder} (bench/run.sh does).");
                }
                start = new ProcessStartInfo("node") { WorkingDirectory = Repository.SocketIoFolder };
                start.ArgumentList.Add("--expose-gc");
                start.ArgumentList.Add("server.mjs");
                start.Environment["PORT"] = "0";
                start.Environment["NODE_ENV"] = "production";
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(kind));
        }
        foreach (var (k, v) in extra ?? []) start.Environment[k] = v;
        return LaunchAsync(kind, start, data);
    }

    /// <summary>A Switchboard process with settings on top of <see cref="SwitchboardSettings"/> (the history benchmark's).</summary>
    public static Task<PeerProcess> StartSwitchboardAsync(Dictionary<string, string> settings)
    {
        var kind = settings.TryGetValue("Switchboard__History__Enabled", out var on) && on == "false"
            ? ServerKind.SwitchboardHistoryOff : ServerKind.SwitchboardHistoryOn;
        return StartAsync(kind, settings);
    }

    /// <summary>A token from the Switchboard server's own <c>token</c> command, with the benchmark's key.</summary>
    public static async Task<string> TokenAsync(string user, params string[] roles)
    {
        var start = Dotnet(Repository.SwitchboardDll, new() { ["ASPNETCORE_ENVIRONMENT"] = "Production", ["Jwt__Key"] = Tokens.Key });
        start.ArgumentList.Clear();
        start.ArgumentList.Add(Repository.SwitchboardDll);
        start.ArgumentList.Add("token");
        start.ArgumentList.Add("--user");
        start.ArgumentList.Add(user);
        foreach (var role in roles)
        {
            start.ArgumentList.Add("--role");
            start.ArgumentList.Add(role);
        }
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        if (process.ExitCode != 0) throw new InvalidOperationException($"the token command failed ({process.ExitCode}): {await stderr}");
        return (await stdout).Trim();
    }

    private static ProcessStartInfo Dotnet(string dll, Dictionary<string, string> environment)
    {
        if (!File.Exists(dll)) throw new InvalidOperationException($"{dll} is missing: build first (dotnet build Switchboard.slnx -c Release, or bench/run.sh).");
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = Path.GetDirectoryName(dll)! };
        start.ArgumentList.Add(dll);
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add("http://127.0.0.1:0");
        foreach (var (k, v) in environment) start.Environment[k] = v;
        GeneratorSockets.Unset(start);
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        return start;
    }

    private static async Task<PeerProcess> LaunchAsync(ServerKind kind, ProcessStartInfo start, string? data)
    {
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;
        var output = new List<string>();
        var listening = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        void OnLine(object? sender, DataReceivedEventArgs e)
        {
            if (e.Data is not { } line) return;
            lock (output)
            {
                output.Add(line);
                if (output.Count > 200) output.RemoveAt(0);
            }
            if (Listening().Match(line) is { Success: true } m) listening.TrySetResult(m.Groups[1].Value);
        }
        process.OutputDataReceived += OnLine;
        process.ErrorDataReceived += OnLine;
        process.Exited += (_, _) => listening.TrySetException(new InvalidOperationException($"{kind.Name()} exited before listening"));
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            var url = await listening.Task.WaitAsync(TimeSpan.FromSeconds(60));
            return new PeerProcess(kind, process, data, url, output);
        }
        catch (Exception e)
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            string recent;
            lock (output) recent = string.Join('\n', output.TakeLast(20));
            throw new InvalidOperationException($"{kind.Name()} did not start: {e.Message}\n{recent}", e);
        }
    }

    /// <summary>Open connections as the server itself counts them.</summary>
    public async Task<long?> ConnectionsAsync()
    {
        if (Kind.IsSwitchboard())
        {
            return (long?)SumMetric(await Http.GetStringAsync(BaseUrl + "/metrics"), "switchboard_connections");
        }
        var stats = await Http.GetFromJsonAsync<JsonElement>(BaseUrl + "/stats");
        return stats.GetProperty("connections").GetInt64();
    }

    /// <summary>
    /// Forces a full, blocking garbage collection in the server, waits for memory to settle, and
    /// reads its resident set and managed heap. .NET servers are collected through an EventPipe
    /// session with the GCHeapCollect keyword (what dotnet-gcdump does), so the server needs no
    /// endpoint for it; Node runs with --expose-gc and collects on GET /stats?gc=1.
    /// </summary>
    public async Task<ServerMemory> CollectAndMeasureAsync()
    {
        double? heap;
        if (Kind.IsSignalR())
        {
            await ForceGcAsync(Pid);
            await Task.Delay(500);
            if (Kind.IsSwitchboard())
            {
                heap = SumMetric(await Http.GetStringAsync(BaseUrl + "/metrics"), "dotnet_gc_last_collection_heap_size_bytes");
            }
            else
            {
                heap = (await Http.GetFromJsonAsync<JsonElement>(BaseUrl + "/stats")).GetProperty("heapBytes").GetDouble();
            }
        }
        else
        {
            heap = (await Http.GetFromJsonAsync<JsonElement>(BaseUrl + "/stats?gc=1")).GetProperty("heapBytes").GetDouble();
            await Task.Delay(500);
        }
        return new ServerMemory(ProcessStats.ResidentBytes(Pid) ?? 0, heap ?? 0);
    }

    private static async Task ForceGcAsync(int pid)
    {
        const long GcKeyword = 0x1, GcHeapCollectKeyword = 0x800000;
        var client = new DiagnosticsClient(pid);
        using var session = client.StartEventPipeSession(
            [new EventPipeProvider("Microsoft-Windows-DotNETRuntime", System.Diagnostics.Tracing.EventLevel.Informational, GcKeyword | GcHeapCollectKeyword)],
            requestRundown: false);
        // The session's events must be read, or the runtime blocks when its buffer fills.
        var drain = Task.Run(async () =>
        {
            var buffer = new byte[64 * 1024];
            try
            {
                while (await session.EventStream.ReadAsync(buffer) > 0)
                {
                }
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException)
            {
            }
        });
        await Task.Delay(1000);
        await session.StopAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));
        await drain.WaitAsync(TimeSpan.FromSeconds(10));
    }

    /// <summary>Adds up every sample of a metric in Prometheus' text format.</summary>
    internal static double? SumMetric(string text, string name)
    {
        double? sum = null;
        foreach (var line in text.Split('\n'))
        {
            if (!line.StartsWith(name, StringComparison.Ordinal) || line.Length <= name.Length || (line[name.Length] != '{' && line[name.Length] != ' ')) continue;
            var parts = line.Split(' ');
            // "name{labels} value [timestamp]": the value follows the closing brace.
            var valueIndex = line[name.Length] == '{' ? Array.FindIndex(parts, p => p.EndsWith('}')) + 1 : 1;
            if (valueIndex > 0 && valueIndex < parts.Length && double.TryParse(parts[valueIndex], NumberStyles.Float, CultureInfo.InvariantCulture, out var v))
            {
                sum = (sum ?? 0) + v;
            }
        }
        return sum;
    }

    private int _disposed;

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(15));
        }
        _process.Dispose();
        if (_data is not null)
        {
            try
            {
                Directory.Delete(_data, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    [GeneratedRegex(@"Now listening on: (http://127\.0\.0\.1:\d+)")]
    private static partial Regex Listening();
}

/// <summary>A server's resident set and managed (or V8) heap after a full collection, in bytes.</summary>
internal sealed record ServerMemory(long ResidentBytes, double HeapBytes);
