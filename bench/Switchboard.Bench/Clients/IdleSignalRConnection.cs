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
    private static readonly byte[] Ping = "{\"type\":6}\u001e"u8.ToArray();
    private readonly CancellationTokenSource _stop = new();
    private ClientWebSocket? _socket;
    private Task? _receiving;

    public bool Closed { get; private set; }

    public async Task StartAsync(string hubUrl, string? token, LoopbackSources sources, int index, CancellationToken ct)
    {
        _socket = await sources.ConnectAsync(new Uri(hubUrl), index, token, ct);
        await WebSocketClients.SignalRHandshakeAsync(_socket, ct);
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

    public ValueTask DisposeAsync() => new(WebSocketClients.CloseAsync(_stop, _socket, _receiving));
}
