using System.Net.WebSockets;
using System.Text;

namespace Switchboard.Bench.Clients;

/// <summary>What the generator's hand-written WebSocket clients share: SignalR's JSON handshake and a bounded close.</summary>
internal static class WebSocketClients
{
    public const byte RecordSeparator = 0x1e;
    private static readonly byte[] JsonHandshake = "{\"protocol\":\"json\",\"version\":1}\u001e"u8.ToArray();

    /// <summary>
    /// Sends SignalR's JSON handshake and reads the answer; throws unless it is <c>{}</c>. Returns
    /// whatever arrived after the answer (the first messages, when the server sent them at once).
    /// </summary>
    public static async Task<byte[]> SignalRHandshakeAsync(ClientWebSocket socket, CancellationToken ct)
    {
        await socket.SendAsync(JsonHandshake, WebSocketMessageType.Text, true, ct);
        var buffer = new byte[512];
        var length = 0;
        int end;
        while ((end = Array.IndexOf(buffer, RecordSeparator, 0, length)) < 0)
        {
            if (length == buffer.Length) throw new InvalidOperationException("the handshake response is too long");
            var result = await socket.ReceiveAsync(buffer.AsMemory(length), ct);
            if (result.MessageType == WebSocketMessageType.Close) throw new InvalidOperationException("the server closed the connection during the handshake");
            length += result.Count;
        }
        var answer = Encoding.UTF8.GetString(buffer, 0, end);
        if (answer != "{}") throw new InvalidOperationException($"the handshake was refused: {answer}");
        return buffer.AsSpan(end + 1, length - end - 1).ToArray();
    }

    /// <summary>
    /// Stops a client: cancels its loops, sends a close frame (at most 2 s), disposes the socket
    /// and waits at most 5 s for the receive loop to end.
    /// </summary>
    public static async Task CloseAsync(CancellationTokenSource stop, ClientWebSocket? socket, Task? receiving)
    {
        stop.Cancel();
        if (socket is not null)
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
        if (receiving is not null) await receiving.WaitAsync(TimeSpan.FromSeconds(5)).ContinueWith(_ => { }, TaskScheduler.Default);
        stop.Dispose();
    }
}
