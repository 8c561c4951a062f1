using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using StackExchange.Redis;

namespace Switchboard.Server.Tests.Infrastructure;

/// <summary>
/// Debian's <c>redis-server</c>, started for real on 127.0.0.1 and a free port with its data in
/// a temporary folder (no persistence unless asked), for tests of Switchboard on Redis. It can be
/// stopped and started again on the same port, with or without its data.
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("switchboard-redis-").FullName;
    private readonly bool _persist;
    private Process? _process;
    private ConnectionMultiplexer? _admin;

    private RedisServer(int port, bool persist)
    {
        Port = port;
        _persist = persist;
    }

    public int Port { get; }

    /// <summary>The connection string Switchboard is given (<c>ConnectionStrings:Redis</c>).</summary>
    public string ConnectionString => $"127.0.0.1:{Port}";

    /// <summary>This server's address as a TCP relay in front of it is given it (the web tests' <c>CuttableNetwork</c>).</summary>
    public string Url => $"tcp://127.0.0.1:{Port}";

    /// <summary>Starts a server. <paramref name="persist"/> keeps an append-only file, so a restart keeps the data.</summary>
    public static async Task<RedisServer> StartAsync(bool persist = false)
    {
        var server = new RedisServer(Ports.Free(), persist);
        await server.StartAgainAsync();
        return server;
    }

    /// <summary>Starts the server again on the same port (after <see cref="StopAsync"/>); <paramref name="wipe"/> deletes its data first.</summary>
    public async Task StartAgainAsync(bool wipe = false)
    {
        if (wipe)
        {
            foreach (var entry in Directory.EnumerateFileSystemEntries(_folder))
            {
                if (Directory.Exists(entry)) Directory.Delete(entry, true); else File.Delete(entry);
            }
        }
        var start = new ProcessStartInfo("redis-server") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = _folder };
        foreach (var arg in (string[])["--port", Port.ToString(), "--bind", "127.0.0.1", "--dir", _folder, "--save", "",
            "--appendonly", _persist ? "yes" : "no", "--appendfsync", "always", "--protected-mode", "no", "--loglevel", "warning"])
        {
            start.ArgumentList.Add(arg);
        }
        _process = Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start");
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow + TestTimeouts.Network;
        while (true)
        {
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, Port).WaitAsync(TimeSpan.FromSeconds(1));
                break;
            }
            catch (Exception) when (DateTime.UtcNow < deadline && !_process.HasExited)
            {
                await Task.Delay(20);
            }
        }
        if (_process.HasExited) throw new InvalidOperationException("redis-server exited at start");
    }

    /// <summary>A direct connection for tests (CLIENT KILL, inspecting keys).</summary>
    public async Task<IDatabase> AdminAsync()
    {
        _admin ??= await ConnectionMultiplexer.ConnectAsync($"{ConnectionString},allowAdmin=true,abortConnect=false");
        return _admin.GetDatabase();
    }

    /// <summary>The pub/sub channels with at least one subscriber whose name matches the glob <paramref name="pattern"/> (<c>PUBSUB CHANNELS</c>).</summary>
    public async Task<string[]> SubscribedChannelsAsync(string pattern)
    {
        var result = await (await AdminAsync().WaitAsync(TestTimeouts.Network)).ExecuteAsync("PUBSUB", "CHANNELS", pattern).WaitAsync(TestTimeouts.Network);
        return ((RedisResult[])result!).Select(r => r.ToString()).ToArray();
    }

    /// <summary>Stops the server: SIGKILL, so no save happens on the way out.</summary>
    public async Task StopAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill();
            await process.WaitForExitAsync().WaitAsync(TestTimeouts.Network);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_admin is not null) await _admin.DisposeAsync();
        await StopAsync();
        _process?.Dispose();
        try { Directory.Delete(_folder, recursive: true); } catch (IOException) { }
    }
}

/// <summary>One Redis shared by the tests of a class; each test uses its own key prefix.</summary>
public sealed class RedisFixture : IAsyncLifetime
{
    public RedisServer Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await RedisServer.StartAsync();

    public async Task DisposeAsync() => await Server.DisposeAsync();
}
