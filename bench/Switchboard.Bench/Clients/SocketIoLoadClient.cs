using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace Switchboard.Bench.Clients;

/// <summary>
/// A Socket.IO client written for the generator: Engine.IO protocol 4 and Socket.IO protocol 5
/// over a WebSocket from the start (no polling, as socket.io-client does with
/// <c>transports: ["websocket"]</c>), the default namespace, JSON. It answers the server's
/// pings, emits events with or without an acknowledgement and reads <c>message</c>,
/// <c>privateMessage</c> and <c>notification</c> events. Driving Socket.IO from the same
/// process as the SignalR clients keeps one clock, one CPU measure and one histogram for every
/// server; this client does less work per message than the official SignalR client, so if
/// anything the comparison favours Socket.IO.
/// </summary>
internal sealed class SocketIoLoadClient : ILoadClient
{
    private readonly string _baseUrl;
    private readonly string? _userId;
    private readonly LoopbackSources _sources;
    private readonly int _index;
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly ArrayBufferWriter<byte> _sendBuffer = new(256);
    private readonly ConcurrentDictionary<long, TaskCompletionSource> _acks = new();
    private readonly CancellationTokenSource _stop = new();
    private ClientWebSocket? _socket;
    private Task? _receiving;
    private long _nextAck;

    public SocketIoLoadClient(string baseUrl, string? userId, LoopbackSources sources, int index) =>
        (_baseUrl, _userId, _sources, _index) = (baseUrl, userId, sources, index);

    public Action<string, long>? Received { get; set; }

    public Action? Notified { get; set; }

    /// <summary>Set when the server closed the connection or it failed.</summary>
    public bool Closed { get; private set; }

    public async Task StartAsync(CancellationToken ct)
    {
        _socket = await _sources.ConnectAsync(new Uri(_baseUrl + "/socket.io/?EIO=4&transport=websocket"), _index, null, ct);
        var buffer = new byte[4096];
        var open = await ReceiveOneAsync(buffer, ct);
        if (open.Length == 0 || open[0] != (byte)'0') throw new InvalidOperationException($"expected an Engine.IO open packet, got '{Encoding.UTF8.GetString(open)}'");
        // Connect to the default namespace, with the auth payload when there is a user.
        var connect = _userId is null ? "40" : "40" + JsonSerializer.Serialize(new { userId = _userId });
        await _socket.SendAsync(Encoding.UTF8.GetBytes(connect), WebSocketMessageType.Text, true, ct);
        while (true)
        {
            var packet = await ReceiveOneAsync(buffer, ct);
            if (packet.StartsWith("40"u8)) break;
            if (packet.StartsWith("44"u8)) throw new InvalidOperationException($"Socket.IO refused the connection: {Encoding.UTF8.GetString(packet)}");
            if (packet.SequenceEqual("2"u8)) await _socket.SendAsync("3"u8.ToArray(), WebSocketMessageType.Text, true, ct);
        }
        _receiving = Task.Run(ReceiveLoopAsync, CancellationToken.None);
    }

    public Task JoinAsync(string group, CancellationToken ct) => EmitAsync("join", group, null, null, acknowledged: true, ct);

    public Task SendToGroupAsync(string group, string message, bool acknowledged, CancellationToken ct) =>
        EmitAsync("sendToGroup", group, "bench", message, acknowledged, ct);

    public Task SendToUserAsync(string userId, string message, bool acknowledged, CancellationToken ct) =>
        EmitAsync("sendToUser", userId, message, null, acknowledged, ct);

    private async Task EmitAsync(string name, string a, string? b, string? c, bool acknowledged, CancellationToken ct)
    {
        var socket = _socket ?? throw new InvalidOperationException("not started");
        TaskCompletionSource? ack = null;
        await _sendLock.WaitAsync(ct);
        try
        {
            _sendBuffer.ResetWrittenCount();
            _sendBuffer.Write("42"u8);
            if (acknowledged)
            {
                var id = ++_nextAck;
                ack = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _acks[id] = ack;
                var digits = _sendBuffer.GetSpan(20);
                id.TryFormat(digits, out var written);
                _sendBuffer.Advance(written);
            }
            using (var json = new Utf8JsonWriter(_sendBuffer))
            {
                json.WriteStartArray();
                json.WriteStringValue(name);
                json.WriteStringValue(a);
                if (b is not null) json.WriteStringValue(b);
                if (c is not null) json.WriteStringValue(c);
                json.WriteEndArray();
            }
            await socket.SendAsync(_sendBuffer.WrittenMemory, WebSocketMessageType.Text, true, ct);
        }
        finally
        {
            _sendLock.Release();
        }
        if (ack is not null) await ack.Task.WaitAsync(ct);
    }

    private async Task<byte[]> ReceiveOneAsync(byte[] buffer, CancellationToken ct)
    {
        using var message = new MemoryStream();
        while (true)
        {
            var result = await _socket!.ReceiveAsync(buffer, ct);
            if (result.MessageType == WebSocketMessageType.Close) throw new InvalidOperationException("the server closed the connection");
            message.Write(buffer, 0, result.Count);
            if (result.EndOfMessage) return message.ToArray();
        }
    }

    private async Task ReceiveLoopAsync()
    {
        var socket = _socket!;
        var buffer = new byte[4096];
        var length = 0;
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                if (length == buffer.Length) Array.Resize(ref buffer, buffer.Length * 2);
                var result = await socket.ReceiveAsync(buffer.AsMemory(length), _stop.Token);
                if (result.MessageType == WebSocketMessageType.Close) break;
                length += result.Count;
                if (!result.EndOfMessage) continue;
                var now = Stopwatch.GetTimestamp();
                await HandleAsync(buffer.AsMemory(0, length), now);
                length = 0;
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException or IOException)
        {
        }
        finally
        {
            Closed = true;
            foreach (var pending in _acks.Values) pending.TrySetException(new InvalidOperationException("the connection closed"));
        }
    }

    private async Task HandleAsync(ReadOnlyMemory<byte> packet, long now)
    {
        var span = packet.Span;
        if (span.Length == 1 && span[0] == (byte)'2')
        {
            await _sendLock.WaitAsync(_stop.Token);
            try
            {
                await _socket!.SendAsync("3"u8.ToArray(), WebSocketMessageType.Text, true, _stop.Token);
            }
            finally
            {
                _sendLock.Release();
            }
            return;
        }
        if (span.Length < 2 || span[0] != (byte)'4') return;
        var type = span[1];
        var rest = span[2..];
        var digits = 0;
        while (digits < rest.Length && rest[digits] is >= (byte)'0' and <= (byte)'9') digits++;
        if (type == (byte)'3' && digits > 0 && long.TryParse(Encoding.ASCII.GetString(rest[..digits]), out var id) && _acks.TryRemove(id, out var ack))
        {
            ack.TrySetResult();
            return;
        }
        if (type == (byte)'1')
        {
            Closed = true;
            return;
        }
        if (type != (byte)'2') return;
        Dispatch(rest[digits..], now);
    }

    private void Dispatch(ReadOnlySpan<byte> json, long now)
    {
        var reader = new Utf8JsonReader(json);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartArray || !reader.Read() || reader.TokenType != JsonTokenType.String) return;
        if (reader.ValueTextEquals("message"u8) || reader.ValueTextEquals("privateMessage"u8))
        {
            // [name, user or sender, message]
            if (reader.Read() && reader.Read() && reader.TokenType == JsonTokenType.String) Received?.Invoke(reader.GetString()!, now);
        }
        else if (reader.ValueTextEquals("notification"u8))
        {
            Notified?.Invoke();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await WebSocketClients.CloseAsync(_stop, _socket, _receiving);
        _sendLock.Dispose();
    }
}
