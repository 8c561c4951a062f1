using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading.Channels;

namespace Switchboard.Web.Tests.Infrastructure;

/// <summary>
/// A loopback TCP relay in front of the server that a browser loads the app through, so a test
/// can take that browser's network away: every open connection is reset (as a dropped Wi-Fi
/// does) and new ones are refused until the network is back. The page's origin is the relay's
/// address, which is also the Host the server sees, so the hub Origin check passes unchanged.
/// It relays any TCP, so it also stands between a server and its Redis.
/// </summary>
public sealed class CuttableNetwork : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private volatile IPEndPoint _server;
    private readonly List<Socket> _open = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private volatile bool _down;
    private volatile TaskCompletionSource _replies = Flowing();
    private readonly StringBuilder _held = new();

    public CuttableNetwork(string serverUrl)
    {
        var uri = new Uri(serverUrl);
        _server = new IPEndPoint(IPAddress.Parse(uri.Host), uri.Port);
        _listener.Start();
        _accepting = AcceptLoopAsync();
    }

    /// <summary>The address to open the app at, instead of the server's.</summary>
    public string BaseUrl => $"http://127.0.0.1:{Port}";

    /// <summary>The relay's own port on 127.0.0.1.</summary>
    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Resets every open connection and refuses new ones. Replies held by <see cref="HoldReplies"/> are lost with them.</summary>
    public void GoOffline()
    {
        _down = true;
        lock (_open)
        {
            foreach (var socket in _open) Reset(socket);
            _open.Clear();
            _replies.TrySetResult(); // the held relays wake up to closed sockets
        }
    }

    public void GoOnline() => _down = false;

    /// <summary>
    /// From now on new connections go to another server at the same address, as when the process
    /// behind a load balancer (or a port) is replaced. Open connections are not touched: take
    /// the network away first to move them.
    /// </summary>
    public void Reroute(string serverUrl)
    {
        var uri = new Uri(serverUrl);
        _server = new IPEndPoint(IPAddress.Parse(uri.Host), uri.Port);
    }

    /// <summary>
    /// What the browser sends still reaches the server, but what the server sends waits in the
    /// relay, in order (a stalled link): <see cref="ReleaseReplies"/> delivers it all at once,
    /// <see cref="GoOffline"/> loses it, as when the connection drops before an answer arrives.
    /// </summary>
    public void HoldReplies()
    {
        lock (_open)
        {
            lock (_held) _held.Clear();
            if (_replies.Task.IsCompleted) _replies = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }

    /// <summary>Delivers what was held, in the order the server sent it, and lets replies flow again.</summary>
    public void ReleaseReplies()
    {
        lock (_open) _replies.TrySetResult();
    }

    /// <summary>What the servers sent since <see cref="HoldReplies"/>, as text (SignalR's JSON protocol is text; WebSocket frames from a server are not masked).</summary>
    public string HeldReplies
    {
        get { lock (_held) return _held.ToString(); }
    }

    private static TaskCompletionSource Flowing()
    {
        var flowing = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        flowing.SetResult();
        return flowing;
    }

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
            _ = RelayAsync(browser, server, replies: false);
            _ = RelayAsync(server, browser, replies: true);
        }
    }

    private async Task RelayAsync(Socket from, Socket to, bool replies)
    {
        var buffer = new byte[32 * 1024];
        // Replies are read on while held, so that what arrives can be seen, and sent by their own loop.
        var pending = replies ? Channel.CreateUnbounded<byte[]>(new() { SingleReader = true, SingleWriter = true }) : null;
        var sending = pending is null ? Task.CompletedTask : SendRepliesAsync(pending.Reader, from, to);
        try
        {
            int read;
            while ((read = await from.ReceiveAsync(buffer, SocketFlags.None, _stop.Token)) > 0)
            {
                if (pending is null)
                {
                    await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, _stop.Token);
                    continue;
                }
                var chunk = buffer.AsSpan(0, read).ToArray();
                if (!_replies.Task.IsCompleted)
                {
                    lock (_held) _held.Append(Encoding.Latin1.GetString(chunk));
                }
                pending.Writer.TryWrite(chunk);
            }
            pending?.Writer.TryComplete();
            await sending;
            to.Shutdown(SocketShutdown.Send);
        }
        catch (Exception)
        {
            pending?.Writer.TryComplete();
            Reset(from);
            Reset(to);
        }
    }

    private async Task SendRepliesAsync(ChannelReader<byte[]> chunks, Socket from, Socket to)
    {
        try
        {
            await foreach (var chunk in chunks.ReadAllAsync(_stop.Token))
            {
                await _replies.Task.WaitAsync(_stop.Token);
                await to.SendAsync(chunk, SocketFlags.None, _stop.Token);
            }
        }
        catch (Exception)
        {
            Reset(from); // the reading loop ends with it
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
