using System.Text;
using Switchboard.Server.Hubs;
using Switchboard.Server.Tests.Infrastructure;

namespace Switchboard.Server.Tests.Hostile;

/// <summary>
/// Garbage before and instead of SignalR's handshake. The server answers with a handshake error
/// (<c>{"error":"..."}</c>) and closes that connection; nothing else notices.
/// </summary>
public sealed class HandshakeTests(HostileServer server) : IClassFixture<HostileServer>
{
    private const char RS = RawWebSocket.RecordSeparator;

    public static TheoryData<string, string, string> BadHandshakes() => new()
    {
        { "unknown protocol", $"{{\"protocol\":\"xml\",\"version\":1}}{RS}", "The protocol 'xml' is not supported." },
        { "unsupported version", $"{{\"protocol\":\"json\",\"version\":99}}{RS}", "The server does not support version 99 of the 'json' protocol." },
        { "not JSON", $"hello{RS}", "An unexpected error occurred during connection handshake." },
        { "wrong types", $"{{\"protocol\":1,\"version\":\"one\"}}{RS}", "An unexpected error occurred during connection handshake." },
        { "missing fields", $"{{}}{RS}", "An unexpected error occurred during connection handshake." },
        { "an array", $"[\"json\",1]{RS}", "An unexpected error occurred during connection handshake." },
        { "truncated, then silence", "{\"protocol\":\"js", "Handshake was canceled." },
        { "no record separator, then silence", "{\"protocol\":\"json\",\"version\":1}", "Handshake was canceled." },
        { "no record separator, past the size limit", "{\"protocol\":\"json\",\"version\":1," + new string(' ', 40_000), "Handshake was canceled." },
    };

    [Theory]
    [MemberData(nameof(BadHandshakes))]
    public async Task ABadHandshakeIsAnsweredWithAnErrorAndClosed(string kind, string handshake, string error)
    {
        await using var control = await server.ControlAsync();
        await using var raw = await server.RawAsync();

        await raw.SendRawAsync(RawWebSocket.Frame(0x1, Encoding.UTF8.GetBytes(handshake)));
        var answer = await raw.NextRecordTextAsync();

        Assert.True(answer == $"{{\"error\":\"{error}\"}}", $"{kind}: {answer}");
        Assert.True(await raw.EndsAsync(), kind);
        await control.AssertHealthyAsync();
    }

    [Fact]
    public async Task AConnectionThatNeverSendsTheHandshakeIsClosedAfterTheHandshakeTimeout()
    {
        await using var control = await server.ControlAsync();
        await using var raw = await server.RawAsync(negotiate: false);

        var answer = await raw.NextRecordTextAsync();

        Assert.Equal("{\"error\":\"Handshake was canceled.\"}", answer);
        Assert.True(await raw.EndsAsync());
        await control.AssertHealthyAsync();
    }

    [Fact]
    public async Task AFloodOfHandshakeLessConnectionsIsClosedAndLeavesNothingBehind()
    {
        await using var control = await server.ControlAsync();
        var registry = server.Get<ConnectionRegistry>();
        var before = registry.Count;

        // 200 WebSockets opened at once, none of which ever says a word.
        var raws = await Task.WhenAll(Enumerable.Range(0, 200).Select(_ => server.RawAsync(negotiate: false)));
        try
        {
            var ends = await Task.WhenAll(raws.Select(r => r.EndsAsync()));
            Assert.All(ends, Assert.True);
        }
        finally
        {
            foreach (var raw in raws) await raw.DisposeAsync();
        }

        Assert.Equal(before, registry.Count);
        await control.AssertHealthyAsync();
    }
}
