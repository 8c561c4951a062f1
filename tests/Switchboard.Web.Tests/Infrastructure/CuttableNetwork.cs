using System.Net;
using System.Net.Sockets;

namespace Switchboard.Web.Tests.Infrastructure;

/// <summary>
/// A loopback TCP relay in front of the server that a browser loads the app through, so a test
/// can take that browser's network away: every open connection is reset (as a dropped Wi-Fi
/// does) and new ones are refused until the network is back. The page's origin is the relay's
/// address, which is also the Host the server sees, so the hub Origin check passes unchanged.
/// </summary>
public sealed class CuttableNetwork : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly IPEndPoint _server;
    private readonly List<Socket> _open = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private volatile bool _down;

    public CuttableNetwork(string serverUrl)
    {
        var uri = new Uri(serverUrl);
        _server = new IPEndPoint(IPAddress.Parse(uri.Host), uri.Port);
        _listener.Start();
        _accepting = AcceptLoopAsync();
    }

    /// <summary>The address to open the app at, instead of the server's.</summary>
    public string BaseUrl => $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

    /// <summary>Resets every open connection and refuses new ones.</summary>
    public void GoOffline()
    {
        _down = true;
        lock (_open)
        {
            foreach (var socket in _open) Reset(socket);
            _open.Clear();
        }
    }

    public void GoOnline() => _down = false;

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket browser;
            try { browser = await _listener.AcceptSocketAsync(_stop.Token); }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException) { return; }
            if (_down)
            {
                Reset(browser);
                continue;
            }
            var server = new Socket(SocketType.Stream, ProtocolType.Tcp);
            try
            {
                await server.ConnectAsync(_server, _stop.Token).AsTask().WaitAsync(Timeouts.Network);
            }
            catch (Exception)
            {
                Reset(browser);
                Reset(server);
                continue;
            }
            lock (_open)
            {
                _open.Add(browser);
                _open.Add(server);
            }
            _ = RelayAsync(browser, server);
            _ = RelayAsync(server, browser);
        }
    }

    private async Task RelayAsync(Socket from, Socket to)
    {
        var buffer = new byte[32 * 1024];
        try
        {
            int read;
            while ((read = await from.ReceiveAsync(buffer, SocketFlags.None, _stop.Token)) > 0)
            {
                await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, _stop.Token);
            }
            to.Shutdown(SocketShutdown.Send);
        }
        catch (Exception)
        {
            Reset(from);
            Reset(to);
        }
    }

    private static void Reset(Socket socket)
    {
        try
        {
            socket.LingerState = new LingerOption(true, 0); // close with RST, not FIN
            socket.Close();
        }
        catch (ObjectDisposedException) { }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        GoOffline();
        await _accepting;
    }
}
