using System.Buffers.Binary;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Switchboard.Server.Tests.Infrastructure;

namespace Switchboard.Server.Tests.Hostile;

/// <summary>
/// A WebSocket client written by hand over a <see cref="TcpClient"/>, so a test can send what no
/// real client would: bad frames, unmasked frames, lying lengths, garbage hub messages, or
/// nothing at all. It speaks just enough RFC 6455 and SignalR to get there. Every read is bounded
/// by <see cref="TestTimeouts.Network"/>.
/// </summary>
public sealed class RawWebSocket : IAsyncDisposable
{
    public const char RecordSeparator = '\u001e';

    private readonly TcpClient _tcp;
    private readonly NetworkStream _stream;
    private readonly byte[] _buffer = new byte[64 * 1024];
    private int _start;
    private int _end;

    private RawWebSocket(TcpClient tcp, string? connectionId)
    {
        _tcp = tcp;
        _stream = tcp.GetStream();
        ConnectionId = connectionId;
    }

    /// <summary>The SignalR connection id from negotiate; null when negotiation was skipped.</summary>
    public string? ConnectionId { get; }

    /// <summary>
    /// Negotiates (unless <paramref name="negotiate"/> is false) and upgrades to a WebSocket on
    /// <paramref name="hubPath"/>. A <paramref name="receiveBufferSize"/> is set before connecting,
    /// so it bounds the TCP window the server can fill while the test does not read.
    /// </summary>
    public static async Task<RawWebSocket> ConnectAsync(string baseUrl, string hubPath, string? token,
        bool negotiate = true, int? receiveBufferSize = null)
    {
        string? connectionId = null;
        var query = "";
        if (negotiate)
        {
            using var http = new HttpClient { BaseAddress = new Uri(baseUrl), Timeout = TestTimeouts.Network };
            if (token is not null) http.DefaultRequestHeaders.Authorization = new("Bearer", token);
            var response = await http.PostAsync($"{hubPath}/negotiate?negotiateVersion=1", null).DefaultTimeout();
            response.EnsureSuccessStatusCode();
            var body = await response.Content.ReadFromJsonAsync<JsonElement>().DefaultTimeout();
            connectionId = body.GetProperty("connectionId").GetString();
            query = "?id=" + Uri.EscapeDataString(body.GetProperty("connectionToken").GetString()!);
        }
        var socket = await OpenUpgradedAsync(baseUrl, hubPath + query, token, receiveBufferSize);
        return new RawWebSocket(socket, connectionId);
    }

    /// <summary>Sends an HTTP upgrade request and returns the TCP client once the server answered 101.</summary>
    private static async Task<TcpClient> OpenUpgradedAsync(string baseUrl, string pathAndQuery, string? token, int? receiveBufferSize)
    {
        var uri = new Uri(baseUrl);
        var tcp = new TcpClient(System.Net.Sockets.AddressFamily.InterNetwork);
        if (receiveBufferSize is { } size) tcp.ReceiveBufferSize = size;
        try
        {
            await tcp.ConnectAsync(uri.Host, uri.Port).DefaultTimeout();
            var key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));
            var request = new StringBuilder()
                .Append($"GET {pathAndQuery} HTTP/1.1\r\n")
                .Append($"Host: {uri.Host}:{uri.Port}\r\n")
                .Append("Upgrade: websocket\r\nConnection: Upgrade\r\n")
                .Append($"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n");
            if (token is not null) request.Append($"Authorization: Bearer {token}\r\n");
            request.Append("\r\n");
            var stream = tcp.GetStream();
            await stream.WriteAsync(Encoding.ASCII.GetBytes(request.ToString())).AsTask().DefaultTimeout();
            var head = await ReadHeadAsync(stream);
            if (!head.StartsWith("HTTP/1.1 101", StringComparison.Ordinal))
            {
                throw new HttpRequestException("The WebSocket upgrade was refused: " + head.Split('\r')[0]);
            }
            return tcp;
        }
        catch
        {
            tcp.Dispose();
            throw;
        }
    }

    private static async Task<string> ReadHeadAsync(NetworkStream stream)
    {
        // Byte by byte, so nothing after the head (the first frames) is consumed here.
        var head = new List<byte>();
        var one = new byte[1];
        while (!(head.Count >= 4 && head[^4] == '\r' && head[^3] == '\n' && head[^2] == '\r' && head[^1] == '\n'))
        {
            if (await stream.ReadAsync(one).AsTask().DefaultTimeout() == 0) throw new IOException("Closed during the upgrade.");
            head.Add(one[0]);
        }
        return Encoding.ASCII.GetString(head.ToArray());
    }

    /// <summary>Writes bytes to the socket as they are, framed or not.</summary>
    public Task SendRawAsync(ReadOnlyMemory<byte> bytes) => _stream.WriteAsync(bytes).AsTask().DefaultTimeout();

    /// <summary>
    /// One WebSocket frame. Clients must mask (<paramref name="mask"/>); <paramref name="declaredLength"/>
    /// may lie about the payload's length; <paramref name="rsv"/> sets the reserved bits (0 to 7).
    /// </summary>
    public static byte[] Frame(int opcode, ReadOnlySpan<byte> payload, bool fin = true, bool mask = true,
        long? declaredLength = null, int rsv = 0)
    {
        var length = declaredLength ?? payload.Length;
        var frame = new List<byte> { (byte)((fin ? 0x80 : 0) | (rsv << 4) | opcode) };
        var maskBit = mask ? 0x80 : 0;
        if (length < 126)
        {
            frame.Add((byte)(maskBit | (int)length));
        }
        else if (length <= ushort.MaxValue)
        {
            frame.Add((byte)(maskBit | 126));
            frame.Add((byte)(length >> 8));
            frame.Add((byte)length);
        }
        else
        {
            frame.Add((byte)(maskBit | 127));
            var bytes = new byte[8];
            BinaryPrimitives.WriteInt64BigEndian(bytes, length);
            frame.AddRange(bytes);
        }
        var key = mask ? RandomNumberGenerator.GetBytes(4) : [];
        frame.AddRange(key);
        for (var i = 0; i < payload.Length; i++)
        {
            frame.Add(mask ? (byte)(payload[i] ^ key[i % 4]) : payload[i]);
        }
        return frame.ToArray();
    }

    /// <summary>A SignalR JSON invocation record (type 1), with an id when a completion is wanted.</summary>
    public static string Invocation(string? id, string target, object?[] arguments, string[]? streamIds = null)
    {
        var record = new Dictionary<string, object?> { ["type"] = 1, ["target"] = target, ["arguments"] = arguments };
        if (id is not null) record["invocationId"] = id;
        if (streamIds is not null) record["streamIds"] = streamIds;
        return JsonSerializer.Serialize(record) + RecordSeparator;
    }

    public Task SendTextAsync(string text) => SendRawAsync(Frame(0x1, Encoding.UTF8.GetBytes(text)));

    public Task SendBinaryAsync(ReadOnlySpan<byte> bytes) => SendRawAsync(Frame(0x2, bytes));

    /// <summary>Sends SignalR's JSON handshake (or another protocol's) and returns the server's answer, without the separator.</summary>
    public async Task<string> HandshakeAsync(string protocol = "json", int version = 1)
    {
        await SendTextAsync($"{{\"protocol\":\"{protocol}\",\"version\":{version}}}{RecordSeparator}");
        return (await NextRecordTextAsync())!;
    }

    private readonly Queue<string> _records = new();

    /// <summary>
    /// The next JSON record (SignalR's JSON protocol may put several in one WebSocket message,
    /// or split one over several), without its separator; null when the server closed.
    /// </summary>
    public async Task<string?> NextRecordTextAsync()
    {
        var partial = "";
        while (_records.Count == 0)
        {
            if (await NextTextAsync() is not { } text) return null;
            var parts = (partial + text).Split(RecordSeparator);
            for (var i = 0; i < parts.Length - 1; i++) _records.Enqueue(parts[i]);
            partial = parts[^1];
        }
        return _records.Dequeue();
    }

    /// <summary>
    /// The next whole message (text or binary, continuation frames joined), answering nothing;
    /// null when the server sent a close frame or closed the socket.
    /// </summary>
    public async Task<byte[]?> NextMessageAsync()
    {
        var message = new List<byte>();
        while (true)
        {
            var frame = await NextFrameAsync();
            if (frame is null) return null;
            var (opcode, fin, payload) = frame.Value;
            if (opcode == 0x8)
            {
                await AnswerCloseAsync();
                return null;
            }
            if (opcode is 0x9 or 0xA) continue; // ping, pong
            message.AddRange(payload);
            if (fin) return message.ToArray();
        }
    }

    /// <summary>The next message as text (SignalR's JSON protocol may put several records in one).</summary>
    public async Task<string?> NextTextAsync() => await NextMessageAsync() is { } bytes ? Encoding.UTF8.GetString(bytes) : null;

    /// <summary>
    /// Reads JSON records until one satisfies <paramref name="match"/>; null when the server
    /// closed first. Pings and other records are skipped.
    /// </summary>
    public async Task<JsonElement?> NextRecordAsync(Func<JsonElement, bool> match)
    {
        var deadline = Deadline();
        while (await NextRecordTextAsync() is { } record)
        {
            deadline.Check("a matching record");
            var json = JsonDocument.Parse(record).RootElement;
            if (match(json)) return json;
        }
        return null;
    }

    /// <summary>Reads until the server closes; returns SignalR's close record (type 7) if one came, and whether the socket ended.</summary>
    public async Task<(JsonElement? Close, bool Ended)> UntilClosedAsync()
    {
        JsonElement? close = null;
        try
        {
            close = await NextRecordAsync(r => r.TryGetProperty("type", out var t) && t.GetInt32() == 7);
            var deadline = Deadline();
            while (await NextMessageAsync() is not null) deadline.Check("the end of the connection");
            return (close, true);
        }
        catch (IOException)
        {
            return (close, true); // reset by the server
        }
    }

    /// <summary>
    /// Reads until the server's WebSocket close frame and returns its status code (1002 protocol
    /// error, 1007 invalid data, 1009 too big, ...), or null when the socket ended without one.
    /// </summary>
    public async Task<int?> UntilCloseFrameAsync()
    {
        var deadline = Deadline();
        try
        {
            while (await NextFrameAsync() is { } frame)
            {
                deadline.Check("the close frame");
                if (frame.Opcode == 0x8)
                {
                    await AnswerCloseAsync();
                    return frame.Payload.Length >= 2 ? BinaryPrimitives.ReadUInt16BigEndian(frame.Payload) : 1005;
                }
            }
        }
        catch (IOException)
        {
        }
        return null;
    }

    /// <summary>
    /// Reads (and discards) until the server closes the socket, answering its close frame as a
    /// client should; true once it did (EOF or reset).
    /// </summary>
    public async Task<bool> EndsAsync()
    {
        await UntilCloseFrameAsync();
        try
        {
            var deadline = Deadline();
            while (await ReadSomeAsync())
            {
                _start = _end;
                deadline.Check("the end of the connection");
            }
        }
        catch (IOException)
        {
        }
        return true;
    }

    /// <summary>
    /// Each read is bounded by <see cref="TestTimeouts.Network"/>, but a server that keeps
    /// sending (pings) never lets one time out; loops that wait for something in particular are
    /// bounded as a whole by twice that.
    /// </summary>
    private static LoopDeadline Deadline() => new(DateTime.UtcNow + 2 * TestTimeouts.Network);

    private readonly record struct LoopDeadline(DateTime At)
    {
        public void Check(string what)
        {
            if (DateTime.UtcNow > At) throw new TimeoutException($"Timed out waiting for {what}.");
        }
    }

    /// <summary>Answers a close frame, as RFC 6455 asks; the server may already be gone.</summary>
    private async Task AnswerCloseAsync()
    {
        try { await _stream.WriteAsync(Frame(0x8, [0x03, 0xE8])).AsTask().DefaultTimeout(); }
        catch (IOException) { }
    }

    private async Task<(int Opcode, bool Fin, byte[] Payload)?> NextFrameAsync()
    {
        if (!await EnsureAsync(2)) return null;
        var b0 = _buffer[_start];
        var b1 = _buffer[_start + 1];
        var length = (long)(b1 & 0x7F);
        var header = 2;
        if (length == 126)
        {
            if (!await EnsureAsync(4)) return null;
            length = BinaryPrimitives.ReadUInt16BigEndian(_buffer.AsSpan(_start + 2));
            header = 4;
        }
        else if (length == 127)
        {
            if (!await EnsureAsync(10)) return null;
            length = BinaryPrimitives.ReadInt64BigEndian(_buffer.AsSpan(_start + 2));
            header = 10;
        }
        _start += header;
        var payload = new byte[length];
        var copied = 0;
        while (copied < length)
        {
            if (_start == _end && !await ReadSomeAsync()) return null;
            var n = (int)Math.Min(length - copied, _end - _start);
            Array.Copy(_buffer, _start, payload, copied, n);
            _start += n;
            copied += n;
        }
        return (b0 & 0x0F, (b0 & 0x80) != 0, payload);
    }

    private async Task<bool> EnsureAsync(int count)
    {
        while (_end - _start < count)
        {
            if (!await ReadSomeAsync()) return false;
        }
        return true;
    }

    private async Task<bool> ReadSomeAsync()
    {
        if (_start > 0)
        {
            Array.Copy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }
        var n = await _stream.ReadAsync(_buffer.AsMemory(_end)).AsTask().DefaultTimeout();
        _end += n;
        return n > 0;
    }

    public ValueTask DisposeAsync()
    {
        _tcp.Dispose();
        return ValueTask.CompletedTask;
    }
}
