using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using StackExchange.Redis;

namespace Switchboard.Web.Tests.Infrastructure;

/// <summary>
/// Debian's <c>redis-server</c> (which test.sh installs), started for real on 127.0.0.1 and a free
/// port with no persistence, for the tests of the web app on servers scaled out on Redis.
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("switchboard-web-redis-").FullName;
    private Process? _process;
    private ConnectionMultiplexer? _admin;

    private RedisServer(int port) => Port = port;

    public int Port { get; }

    /// <summary>The connection string a server is given (<c>ConnectionStrings:Redis</c>).</summary>
    public string ConnectionString => $"127.0.0.1:{Port}";

    /// <summary>A server's address for a <see cref="CuttableNetwork"/> in front of this Redis.</summary>
    public string Url => $"tcp://127.0.0.1:{Port}";

    public static async Task<RedisServer> StartAsync()
    {
        int port;
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            port = ((IPEndPoint)listener.LocalEndpoint).Port;
        }
        var server = new RedisServer(port);
        var start = new ProcessStartInfo("redis-server") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = server._folder };
        foreach (var arg in (string[])["--port", port.ToString(), "--bind", "127.0.0.1", "--dir", server._folder, "--save", "",
            "--appendonly", "no", "--protected-mode", "no", "--loglevel", "warning"])
        {
            start.ArgumentList.Add(arg);
        }
        server._process = Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start");
        server._process.BeginOutputReadLine();
        server._process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow + Timeouts.Network;
        while (true)
        {
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, port).WaitAsync(Timeouts.Network);
                break;
            }
            catch (Exception) when (DateTime.UtcNow < deadline && !server._process.HasExited)
            {
                await Task.Delay(20);
            }
        }
        if (server._process.HasExited) throw new InvalidOperationException("redis-server exited at start");
        return server;
    }

    /// <summary>The pub/sub channels with at least one subscriber whose name matches the glob <paramref name="pattern"/> (<c>PUBSUB CHANNELS</c>).</summary>
    public async Task<string[]> SubscribedChannelsAsync(string pattern)
    {
        _admin ??= await ConnectionMultiplexer.ConnectAsync($"{ConnectionString},abortConnect=false").WaitAsync(Timeouts.Network);
        var result = await _admin.GetDatabase().ExecuteAsync("PUBSUB", "CHANNELS", pattern).WaitAsync(Timeouts.Network);
        return ((RedisResult[])result!).Select(r => r.ToString()).ToArray();
    }

    public async ValueTask DisposeAsync()
    {
        if (_admin is not null) await _admin.DisposeAsync();
        if (_process is { HasExited: false } process)
        {
            process.Kill();
            await process.WaitForExitAsync().WaitAsync(Timeouts.Network);
        }
        _process?.Dispose();
        try { Directory.Delete(_folder, recursive: true); } catch (IOException) { }
    }
}
