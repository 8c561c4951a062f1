using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Switchboard.Bench;

/// <summary>A Switchboard server as its own process on 127.0.0.1 and a free port, with a fresh data folder.</summary>
internal sealed partial class ServerProcess : IAsyncDisposable
{
    public const string Key = "switchboard-bench-signing-key-0123456789abcdef";
    private readonly Process _process;
    private readonly string _data;

    private ServerProcess(Process process, string data, string baseUrl) => (_process, _data, BaseUrl) = (process, data, baseUrl);

    public string BaseUrl { get; }

    public static string ServerDll => Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "..", "src", "Switchboard.Server",
        "bin", "Release", "net10.0", "Switchboard.Server.dll");

    public static async Task<ServerProcess> StartAsync(Dictionary<string, string> settings)
    {
        var data = Directory.CreateTempSubdirectory("switchboard-bench-").FullName;
        var start = Start(["--urls", "http://127.0.0.1:0"], settings, data);
        var process = Process.Start(start)!;
        var listening = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { } line && Listening().Match(line) is { Success: true } m) listening.TrySetResult(m.Groups[1].Value);
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var url = await listening.Task.WaitAsync(TimeSpan.FromSeconds(30));
        return new ServerProcess(process, data, url);
    }

    public static async Task<string> TokenAsync(string user, params string[] roles)
    {
        var args = new List<string> { "token", "--user", user };
        foreach (var role in roles) { args.Add("--role"); args.Add(role); }
        var start = Start(args, [], Path.GetTempPath());
        start.RedirectStandardError = true;
        using var process = Process.Start(start)!;
        var token = (await process.StandardOutput.ReadToEndAsync()).Trim();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        return token;
    }

    private static ProcessStartInfo Start(IEnumerable<string> args, Dictionary<string, string> settings, string data)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.GetFullPath(ServerDll));
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        start.Environment["Jwt__Key"] = Key;
        start.Environment["Switchboard__History__DataFolder"] = data;
        // The benchmark measures capacity: the per-connection invocation limit would cap it.
        start.Environment["Switchboard__Limits__InvocationsPerSecond"] = "0";
        start.Environment["Switchboard__Limits__HttpRequestsPerSecond"] = "0";
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        start.Environment["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information";
        foreach (var (k, v) in settings) start.Environment[k] = v;
        return start;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(15));
        }
        _process.Dispose();
        try { Directory.Delete(_data, recursive: true); } catch (IOException) { }
    }

    [GeneratedRegex(@"Now listening on: (http://127\.0\.0\.1:\d+)")]
    private static partial Regex Listening();
}
