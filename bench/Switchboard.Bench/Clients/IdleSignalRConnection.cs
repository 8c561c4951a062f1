using System.Net.WebSockets;

namespace Switchboard.Bench.Clients;

/// <summary>
/// An idle SignalR connection as light as the protocol allows, for the connection-density
/// scenario: a WebSocket, the JSON handshake (<c>{"protocol":"json","version":1}</c>), and a
/// ping sent back for each ping the server sends (so the server's client timeout never fires).
/// The server sees exactly what an idle official client sends; the generator keeps tens of
/// thousands of them without its own memory or timers becoming the limit.
/// </summary>
internal sealed class IdleSignalRConnection : IAsyncDisposable
{
    private const byte RecordSeparator = 0x1e;
    private static readonly byte[] Handshake = "{\"protocol\":\"json\",\"version\":1}\u001e"u8.ToArray();
    private static readonly byte[] Ping = "{\"type\":6}\u001e"u8.ToArray();
    private readonly CancellationTokenSource _stop = new();
    private ClientWebSocket? _socket;
    private Task? _receiving;

    public bool Closed { get; private set; }

    public async Task StartAsync(string hubUrl, string? token, LoopbackSources sources, int index, CancellationToken ct)
    {
        _socket = await sources.ConnectAsync(new Uri(hubUrl), index, token, ct);
        await _socket.SendAsync(Handshake, WebSocketMessageType.Text, true, ct);
        var buffer = new byte[512];
        var length = 0;
        while (Array.IndexOf(buffer, RecordSeparator, 0, length) < 0)
        {
            if (length == buffer.Length) throw new InvalidOperationException("the handshake response is too long");
            var result = await _socket.ReceiveAsync(buffer.AsMemory(length), ct);
            if (result.MessageType == WebSocketMessageType.Close) throw new InvalidOperationException("the server closed the connection during the handshake");
            length += result.Count;
        }
        var answer = System.Text.Encoding.UTF8.GetString(buffer, 0, Array.IndexOf(buffer, RecordSeparator, 0, length));
        if (answer != "{}") throw new InvalidOperationException($"the handshake was refused: {answer}");
        _receiving = Task.Run(ReceiveLoopAsync, CancellationToken.None);
    }

    private async Task ReceiveLoopAsync()
    {
        var socket = _socket!;
        var buffer = new byte[256];
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var result = await socket.ReceiveAsync(buffer.AsMemory(), _stop.Token);
                if (result.MessageType == WebSocketMessageType.Close) break;
                // Any message (pings every 15 s) is answered with a ping; a close message ends the connection.
                if (buffer.AsSpan(0, result.Count).IndexOf("\"type\":7"u8) >= 0) break;
                await socket.SendAsync(Ping, WebSocketMessageType.Text, true, _stop.Token);
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException or IOException)
        {
        }
        finally
        {
            Closed = true;
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        if (_socket is { } socket)
        {
            if (socket.State == WebSocketState.Open)
            {
                try
                {
                    using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                    await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token);
                }
                catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException or IOException)
                {
                }
            }
            socket.Dispose();
        }
        if (_receiving is not null) await _receiving.WaitAsync(TimeSpan.FromSeconds(5)).ContinueWith(_ => { }, TaskScheduler.Default);
        _stop.Dispose();
    }
}
