using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Switchboard.Server.Tests.Infrastructure;

/// <summary>
/// The built server as a real OS process (<c>dotnet Switchboard.Server.dll</c>) on 127.0.0.1 and a
/// free port, for tests that kill it (-9) and start it again on the same data.
/// </summary>
public sealed partial class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<string> _output = [];

    private ServerProcess(Process process) => _process = process;

    public string BaseUrl { get; private set; } = "";
    public int Pid => _process.Id;

    /// <summary><c>dotnet Switchboard.Server.dll {args}</c> with output redirected, from the server's build folder.</summary>
    public static ProcessStartInfo StartInfo(IEnumerable<string> args)
    {
        var dll = typeof(Program).Assembly.Location;
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetDirectoryName(dll)!,
        };
        start.ArgumentList.Add(dll);
        foreach (var arg in args) start.ArgumentList.Add(arg);
        return start;
    }

    public static async Task<ServerProcess> StartAsync(string dataFolder, Dictionary<string, string>? settings = null)
    {
        var start = StartInfo(["--urls", "http://127.0.0.1:0"]);
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Testing";
        start.Environment["Jwt__Key"] = SwitchboardFactory.TestKey;
        start.Environment["Switchboard__History__DataFolder"] = dataFolder;
        start.Environment["Switchboard__Limits__InvocationsPerSecond"] = "0";
        start.Environment["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information";
        // One line per entry, with the time (as the tests' own diagnostics write it), so a failure's
        // report can put the process's log beside what the test did.
        // (The formatter named, or the console logger's obsolete settings would replace these options.)
        start.Environment["Logging__Console__FormatterName"] = "simple";
        start.Environment["Logging__Console__FormatterOptions__SingleLine"] = "true";
        start.Environment["Logging__Console__FormatterOptions__TimestampFormat"] = "HH:mm:ss.fff ";
        foreach (var (key, value) in settings ?? [])
        {
            start.Environment[key] = value;
        }
        var server = new ServerProcess(Process.Start(start)!);
        var listening = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnLine(string? line)
        {
            if (line is null) return;
            lock (server._output) server._output.Add(line);
            if (ListeningLine().Match(line) is { Success: true } match) listening.TrySetResult(match.Groups[1].Value);
        }
        server._process.OutputDataReceived += (_, e) => OnLine(e.Data);
        server._process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        server._process.BeginOutputReadLine();
        server._process.BeginErrorReadLine();
        _ = server._process.WaitForExitAsync().ContinueWith(_ => listening.TrySetException(
            new InvalidOperationException("The server exited before listening:\n" + server.Output)), TaskScheduler.Default);
        try
        {
            server.BaseUrl = await listening.Task.WaitAsync(TimeSpan.FromSeconds(60));
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
        return server;
    }

    public string Output { get { lock (_output) return string.Join('\n', _output); } }

    /// <summary>SIGKILL: no shutdown, no flush; what was acknowledged must already be on disk.</summary>
    public async Task KillAsync()
    {
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(15));
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            await KillAsync();
        }
        _process.Dispose();
    }

    [GeneratedRegex(@"Now listening on: (http://127\.0\.0\.1:\d+)")]
    private static partial Regex ListeningLine();
}
