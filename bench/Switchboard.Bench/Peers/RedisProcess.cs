using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Switchboard.Bench.Peers;

/// <summary>
/// Debian's redis-server for the two-process scenario: 127.0.0.1, a free port, no persistence,
/// a temporary folder; killed on dispose.
/// </summary>
internal sealed class RedisProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _folder;

    private RedisProcess(Process process, string folder, int port) => (_process, _folder, Port) = (process, folder, port);

    public int Port { get; }

    public int Pid => _process.Id;

    public static async Task<RedisProcess> StartAsync()
    {
        int port;
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            port = ((IPEndPoint)listener.LocalEndpoint).Port;
        }
        var folder = Directory.CreateTempSubdirectory("switchboard-bench-redis-").FullName;
        var start = new ProcessStartInfo("redis-server") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = folder };
        foreach (var arg in (string[])["--port", port.ToString(), "--bind", "127.0.0.1", "--dir", folder, "--save", "", "--appendonly", "no",
                     "--protected-mode", "no", "--loglevel", "warning"])
        {
            start.ArgumentList.Add(arg);
        }
        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException("redis-server is not installed: apt-get install redis-server (bench/run.sh does)", e);
        }
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var redis = new RedisProcess(process, folder, port);
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, port).WaitAsync(TimeSpan.FromSeconds(1));
                return redis;
            }
            catch (Exception) when (clock.Elapsed < TimeSpan.FromSeconds(30) && !process.HasExited)
            {
                await Task.Delay(50);
            }
            catch
            {
                await redis.DisposeAsync();
                throw new InvalidOperationException("redis-server did not start listening");
            }
        }
    }

    /// <summary>What each server kind is told to scale out on this Redis.</summary>
    public Dictionary<string, string> SettingsFor(ServerKind kind) => kind == ServerKind.SocketIo
        ? new() { ["REDIS_URL"] = $"redis://127.0.0.1:{Port}" }
        : new() { ["ConnectionStrings__Redis"] = $"127.0.0.1:{Port}" };

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(15));
        }
        _process.Dispose();
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
