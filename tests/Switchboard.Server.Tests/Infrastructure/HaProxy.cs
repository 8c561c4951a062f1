using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Switchboard.Server.Tests.Infrastructure;

/// <summary>Debian's <c>haproxy</c> running the shipped <c>deploy/haproxy.cfg</c> unchanged, in front of two processes.</summary>
public sealed class HaProxy : IAsyncDisposable
{
    private readonly Process _process;

    private HaProxy(Process process, int port)
    {
        _process = process;
        BaseUrl = $"http://127.0.0.1:{port}";
    }

    public string BaseUrl { get; }

    public static async Task<HaProxy> StartAsync(string node1BaseUrl, string node2BaseUrl)
    {
        var port = Ports.Free();
        var start = new ProcessStartInfo("haproxy") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in (string[])["-db", "-f", ConfigPath()]) start.ArgumentList.Add(arg);
        start.Environment["SWITCHBOARD_LISTEN"] = $"127.0.0.1:{port}";
        start.Environment["SWITCHBOARD_NODE1"] = new Uri(node1BaseUrl).Authority;
        start.Environment["SWITCHBOARD_NODE2"] = new Uri(node2BaseUrl).Authority;
        var proxy = new HaProxy(Process.Start(start) ?? throw new InvalidOperationException("haproxy did not start"), port);
        proxy._process.BeginOutputReadLine();
        proxy._process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow + TestTimeouts.Network;
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        while (true)
        {
            try
            {
                // Both processes up behind the proxy: two requests in a row answer (round robin).
                (await http.GetAsync(proxy.BaseUrl + "/health/live")).EnsureSuccessStatusCode();
                (await http.GetAsync(proxy.BaseUrl + "/health/live")).EnsureSuccessStatusCode();
                return proxy;
            }
            catch (Exception) when (DateTime.UtcNow < deadline && !proxy._process.HasExited)
            {
                await Task.Delay(50);
            }
        }
    }

    /// <summary>The repository's <c>deploy/haproxy.cfg</c>.</summary>
    private static string ConfigPath() => RepositoryFiles.Find("deploy/haproxy.cfg");

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync().WaitAsync(TestTimeouts.Network);
        }
        _process.Dispose();
    }
}
