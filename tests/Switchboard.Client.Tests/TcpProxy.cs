using System.Net;
using System.Net.Sockets;

namespace Switchboard.Client.Tests;

/// <summary>
/// A loopback TCP forwarder between a client and the server whose connections a test can cut
/// (RST, as a dropped network does) and whose door it can close for a while.
/// </summary>
public sealed class TcpProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly IPEndPoint _upstream;
    private readonly List<(Socket, Socket)> _pairs = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;

    public TcpProxy(Uri upstream)
    {
        _upstream = new IPEndPoint(IPAddress.Parse(upstream.Host), upstream.Port);
        _listener.Start();
        _accepting = AcceptAsync();
    }

    /// <summary>The proxy's address, to use instead of the server's.</summary>
    public string BaseUrl => $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

    /// <summary>While true, new connections are reset as soon as they arrive.</summary>
    public bool Refusing { get; set; }

    /// <summary>Connections accepted so far.</summary>
    public int Accepted { get; private set; }

    /// <summary>Resets every open connection in both directions.</summary>
    public void CutAll()
    {
        lock (_pairs)
        {
            foreach (var (a, b) in _pairs)
            {
                Reset(a);
                Reset(b);
            }
            _pairs.Clear();
        }
    }

    private static void Reset(Socket socket)
    {
        try
        {
            socket.LingerState = new LingerOption(true, 0); // close with RST
            socket.Close();
        }
        catch (ObjectDisposedException) { }
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try { client = await _listener.AcceptSocketAsync(_stop.Token); }
            catch (OperationCanceledException) { return; }
            catch (SocketException) { return; }
            Accepted++;
            if (Refusing)
            {
                Reset(client);
                continue;
            }
            var server = new Socket(SocketType.Stream, ProtocolType.Tcp);
            try { await server.ConnectAsync(_upstream, _stop.Token); }
            catch (Exception) { Reset(client); Reset(server); continue; }
            lock (_pairs) _pairs.Add((client, server));
            _ = PumpAsync(client, server);
            _ = PumpAsync(server, client);
        }
    }

    private async Task PumpAsync(Socket from, Socket to)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                var read = await from.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                if (read == 0) break;
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

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        CutAll();
        await _accepting;
    }
}
