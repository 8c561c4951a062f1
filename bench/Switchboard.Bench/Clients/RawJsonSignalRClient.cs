using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.WebSockets;
using System.Text.Json;

namespace Switchboard.Bench.Clients;

/// <summary>
/// A SignalR client speaking the JSON hub protocol straight over a WebSocket, for the
/// generator's many connections: the same frames the official client sends and reads
/// (handshake, invocations with and without an id, completions, pings, close), without its
/// per-message machinery. With a thousand receivers on two cores, the official client's cost per
/// delivery is what the generator spends most of its CPU on, and that CPU is taken from the server
/// under test; this client costs a fraction of it, as the hand-written Socket.IO client does for
/// Socket.IO. It pings the server at least every 10 s, as the official client does every 15 s.
/// Only the events the benchmark counts are decoded: <c>ReceiveMessage</c> and
/// <c>PrivateMessage</c> (the message is the last argument) and <c>ReceiveNotification</c>.
/// </summary>
internal sealed class RawJsonSignalRClient(string hubUrl, string? token, LoopbackSources sources, int index) : ILoadClient
{
    private const byte RecordSeparator = WebSocketClients.RecordSeparator;
    private static readonly byte[] Ping = "{\"type\":6}\u001e"u8.ToArray();
    private static readonly long PingEvery = Stopwatch.Frequency * 10;

    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _pending = new();
    private ClientWebSocket? _socket;
    private Task? _receiving;
    private int _nextId;
    private long _lastSend;

    public Action<string, long>? Received { get; set; }

    public Action? Notified { get; set; }

    public async Task StartAsync(CancellationToken ct)
    {
        _socket = await sources.ConnectAsync(new Uri(hubUrl), index, token, ct);
        var rest = await WebSocketClients.SignalRHandshakeAsync(_socket, ct);
        Volatile.Write(ref _lastSend, Stopwatch.GetTimestamp());
        _receiving = Task.Run(() => ReceiveLoopAsync(rest), CancellationToken.None);
    }

    public Task JoinAsync(string group, CancellationToken ct) => InvokeAsync("JoinGroup", [group], ct);

    public Task SendToGroupAsync(string group, string message, bool acknowledged, CancellationToken ct) => acknowledged
        ? InvokeAsync("SendMessageToGroup", [group, "bench", message], ct)
        : SendAsync(Invocation(null, "SendMessageToGroup", [group, "bench", message]), ct);

    public Task SendToUserAsync(string userId, string message, bool acknowledged, CancellationToken ct) => acknowledged
        ? InvokeAsync("SendPrivateMessage", [userId, message], ct)
        : SendAsync(Invocation(null, "SendPrivateMessage", [userId, message]), ct);

    private async Task InvokeAsync(string target, string[] arguments, CancellationToken ct)
    {
        var id = Interlocked.Increment(ref _nextId).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var completion = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = completion;
        try
        {
            await SendAsync(Invocation(id, target, arguments), ct);
            await completion.Task.WaitAsync(ct);
        }
        finally
        {
            _pending.TryRemove(id, out _);
        }
    }

    private static byte[] Invocation(string? id, string target, string[] arguments)
    {
        var output = new ArrayBufferWriter<byte>(128 + arguments.Sum(a => a.Length));
        using (var json = new Utf8JsonWriter(output))
        {
            json.WriteStartObject();
            json.WriteNumber("type"u8, 1);
            if (id is not null) json.WriteString("invocationId"u8, id);
            json.WriteString("target"u8, target);
            json.WriteStartArray("arguments"u8);
            foreach (var argument in arguments) json.WriteStringValue(argument);
            json.WriteEndArray();
            json.WriteEndObject();
        }
        output.Write([RecordSeparator]);
        return output.WrittenSpan.ToArray();
    }

    private async Task SendAsync(ReadOnlyMemory<byte> frame, CancellationToken ct)
    {
        await _sendLock.WaitAsync(ct);
        try
        {
            await _socket!.SendAsync(frame, WebSocketMessageType.Text, true, ct);
            Volatile.Write(ref _lastSend, Stopwatch.GetTimestamp());
        }
        finally
        {
            _sendLock.Release();
        }
    }

    private async Task ReceiveLoopAsync(byte[] leftover)
    {
        var socket = _socket!;
        var buffer = new byte[16 * 1024];
        leftover.CopyTo(buffer, 0);
        var length = leftover.Length;
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                length = Dispatch(buffer, length);
                if (length == buffer.Length) Array.Resize(ref buffer, buffer.Length * 2);
                var result = await socket.ReceiveAsync(buffer.AsMemory(length), _stop.Token);
                if (result.MessageType == WebSocketMessageType.Close) break;
                length += result.Count;
                if (Stopwatch.GetTimestamp() - Volatile.Read(ref _lastSend) > PingEvery)
                {
                    await SendAsync(Ping, _stop.Token);
                }
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException or IOException or InvalidOperationException)
        {
        }
        finally
        {
            foreach (var pending in _pending.Values) pending.TrySetException(new IOException("the connection closed"));
        }
    }

    /// <summary>Handles every complete record in the buffer and returns the length of what is left (moved to the front).</summary>
    private int Dispatch(byte[] buffer, int length)
    {
        var start = 0;
        int end;
        while ((end = Array.IndexOf(buffer, RecordSeparator, start, length - start)) >= 0)
        {
            Handle(buffer.AsSpan(start, end - start));
            start = end + 1;
        }
        if (start == 0) return length;
        buffer.AsSpan(start, length - start).CopyTo(buffer);
        return length - start;
    }

    private void Handle(ReadOnlySpan<byte> record)
    {
        var now = Stopwatch.GetTimestamp();
        var reader = new Utf8JsonReader(record);
        int type = 0;
        string? target = null, id = null, last = null, error = null;
        reader.Read(); // {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("type"u8))
            {
                reader.Read();
                type = reader.GetInt32();
            }
            else if (reader.ValueTextEquals("target"u8))
            {
                reader.Read();
                target = reader.GetString();
            }
            else if (reader.ValueTextEquals("invocationId"u8))
            {
                reader.Read();
                id = reader.GetString();
            }
            else if (reader.ValueTextEquals("error"u8))
            {
                reader.Read();
                error = reader.GetString();
            }
            else if (reader.ValueTextEquals("arguments"u8))
            {
                reader.Read(); // [
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    if (reader.TokenType == JsonTokenType.String) last = reader.GetString();
                    else reader.Skip();
                }
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
        switch (type)
        {
            case 1 when target is "ReceiveMessage" or "PrivateMessage" && last is not null:
                Received?.Invoke(last, now);
                break;
            case 1 when target == "ReceiveNotification":
                Notified?.Invoke();
                break;
            case 3 when id is not null && _pending.TryGetValue(id, out var completion):
                if (error is null) completion.TrySetResult();
                else completion.TrySetException(new InvalidOperationException(error));
                break;
            case 7:
                _stop.Cancel();
                break;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await WebSocketClients.CloseAsync(_stop, _socket, _receiving);
        _sendLock.Dispose();
    }
}
