using System.Text;
using Switchboard.Server.Hubs;
using Switchboard.Server.Tests.Infrastructure;

namespace Switchboard.Server.Tests.Hostile;

/// <summary>
/// Violations of the WebSocket protocol itself (RFC 6455), sent over a bare TCP connection after
/// a good SignalR handshake. Kestrel's WebSocket answers with a close frame naming the problem
/// (1002 protocol error) or drops the socket, and SignalR forgets the
/// connection; nothing else notices.
/// </summary>
public sealed class WebSocketFrameTests(HostileServer server) : IClassFixture<HostileServer>
{
    private static readonly byte[] Ping = Encoding.UTF8.GetBytes("{\"type\":6}\u001e");

    public static TheoryData<string, byte[]> BadFrames() => new()
    {
        { "unmasked client frame", RawWebSocket.Frame(0x1, Ping, mask: false) },
        { "reserved bits set", RawWebSocket.Frame(0x1, Ping, rsv: 0b100) },
        { "unknown data opcode", RawWebSocket.Frame(0x3, Ping) },
        { "unknown control opcode", RawWebSocket.Frame(0xB, []) },
        { "control frame longer than 125 bytes", RawWebSocket.Frame(0x9, new byte[200]) },
        { "fragmented control frame", RawWebSocket.Frame(0x9, [1, 2, 3], fin: false) },
        { "continuation with nothing to continue", RawWebSocket.Frame(0x0, Ping) },
        { "new message inside a fragmented one", [.. RawWebSocket.Frame(0x1, Ping, fin: false), .. RawWebSocket.Frame(0x1, Ping)] },
        { "text that is not UTF-8", RawWebSocket.Frame(0x1, [0x7B, 0xFF, 0xFE, 0x7D, 0x1E]) },
        { "close frame with a reserved status", RawWebSocket.Frame(0x8, [0x03, 0xE7]) },
        { "close frame with a 1-byte body", RawWebSocket.Frame(0x8, [0x03]) },
        { "negative 64-bit length", [0x81, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4] },
        { "2^62 bytes announced, 64 KB sent", [.. RawWebSocket.Frame(0x1, [], declaredLength: 1L << 62), .. Enumerable.Repeat((byte)'a', 64 * 1024)] },
    };

    [Theory]
    [MemberData(nameof(BadFrames))]
    public async Task AProtocolViolationEndsThatConnectionOnly(string kind, byte[] bytes)
    {
        await using var control = await server.ControlAsync();
        var registry = server.Get<ConnectionRegistry>();
        var raw = await server.RawAsync();
        await using (raw)
        {
            Assert.Equal("{}", await raw.HandshakeAsync());
            await TestTimeouts.Eventually(() => registry.Contains(raw.ConnectionId!), "the connection is registered");

            await raw.SendRawAsync(bytes);

            Assert.True(await raw.EndsAsync(), kind);
        }
        await TestTimeouts.Eventually(() => !registry.Contains(raw.ConnectionId!), $"{kind}: the connection is gone");
        await control.AssertHealthyAsync();
    }

    /// <summary>
    /// The server writes a 1002 close frame and then ends the connection; on a busy machine the
    /// socket can be gone (reset) before the client reads that frame. So: whenever a close frame
    /// is read it says 1002, and out of a few tries at least one is read.
    /// </summary>
    [Fact]
    public async Task AnUnmaskedFrameIsAnsweredWithProtocolError()
    {
        var seen = new List<int?>();
        for (var attempt = 0; attempt < 5 && !seen.Contains(1002); attempt++)
        {
            await using var raw = await server.RawAsync();
            Assert.Equal("{}", await raw.HandshakeAsync());

            await raw.SendRawAsync(RawWebSocket.Frame(0x1, Ping, mask: false));

            var status = await raw.UntilCloseFrameAsync();
            Assert.True(status is null or 1002, $"close status {status}");
            seen.Add(status);
        }
        Assert.Contains(1002, seen);
    }

    [Fact]
    public async Task AClientThatVanishesWithoutACloseFrameIsForgotten()
    {
        await using var control = await server.ControlAsync();
        var registry = server.Get<ConnectionRegistry>();
        var raw = await server.RawAsync();
        Assert.Equal("{}", await raw.HandshakeAsync());
        await TestTimeouts.Eventually(() => registry.Contains(raw.ConnectionId!), "the connection is registered");

        await raw.DisposeAsync(); // the TCP connection closes; no WebSocket close frame

        await TestTimeouts.Eventually(() => !registry.Contains(raw.ConnectionId!), "the vanished connection is gone");
        await control.AssertHealthyAsync();
    }
}
