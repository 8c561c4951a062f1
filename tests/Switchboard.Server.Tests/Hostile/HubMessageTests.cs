using System.Text;
using System.Text.Json;
using Switchboard.Server.Tests.Infrastructure;

namespace Switchboard.Server.Tests.Hostile;

/// <summary>
/// Garbage after a good handshake, in SignalR's JSON and MessagePack protocols. A message the
/// protocol cannot parse closes that connection with SignalR's close message
/// <c>Connection closed with an error.</c>; a well-formed invocation with bad arguments is
/// answered with an error and the connection stays; nothing else notices either.
/// </summary>
public sealed class HubMessageTests(HostileServer server) : IClassFixture<HostileServer>
{
    private const char RS = RawWebSocket.RecordSeparator;
    private const string ClosedWithAnError = "Connection closed with an error.";

    public static TheoryData<string, string> UnparsableJson() => new()
    {
        { "truncated", $"{{\"type\":1,\"target\":\"Join{RS}" },
        { "not JSON", $"hello{RS}" },
        { "type of the wrong type", $"{{\"type\":\"one\"}}{RS}" },
        { "no type", $"{{\"target\":\"JoinGroup\",\"arguments\":[]}}{RS}" },
        { "an array", $"[1,2,3]{RS}" },
        { "arguments not an array", $"{{\"type\":1,\"target\":\"JoinGroup\",\"arguments\":{{\"a\":1}}}}{RS}" },
        { "target not a string", $"{{\"type\":1,\"target\":42,\"arguments\":[]}}{RS}" },
        { "empty records", $"{RS}{RS}{RS}" },
        { "an unknown message type", $"{{\"type\":99,\"whatever\":true}}{RS}" },
        { "nested 10,000 deep", $"{{\"type\":1,\"target\":\"JoinGroup\",\"arguments\":[{new string('[', 10_000)}{new string(']', 10_000)}]}}{RS}" },
        { "no separator, past the size limit", "{\"type\":1,\"target\":\"JoinGroup\",\"arguments\":[\"" + new string('a', 40_000) },
        { "one record past the size limit", "{\"type\":1,\"target\":\"JoinGroup\",\"arguments\":[\"" + new string('a', 40_000) + $"\"]}}{RS}" },
    };

    [Theory]
    [MemberData(nameof(UnparsableJson))]
    public async Task AnUnparsableJsonMessageClosesThatConnectionOnly(string kind, string message)
    {
        await using var control = await server.ControlAsync();
        await using var raw = await server.RawAsync();
        Assert.Equal("{}", await raw.HandshakeAsync());

        await raw.SendTextAsync(message);
        var (close, ended) = await raw.UntilClosedAsync();

        Assert.True(close is not null, kind);
        Assert.Equal(ClosedWithAnError, close.Value.GetProperty("error").GetString());
        Assert.True(ended);
        await control.AssertHealthyAsync();
    }

    public static TheoryData<string, string, string> BadInvocations() => new()
    {
        { "argument of the wrong type", "{\"type\":1,\"invocationId\":\"1\",\"target\":\"JoinGroup\",\"arguments\":[{\"a\":1}]}",
            "Failed to invoke 'JoinGroup' due to an error on the server." },
        { "too many arguments", "{\"type\":1,\"invocationId\":\"1\",\"target\":\"JoinGroup\",\"arguments\":[\"a\",\"b\",\"c\"]}",
            "Failed to invoke 'JoinGroup' due to an error on the server." },
        { "no arguments", "{\"type\":1,\"invocationId\":\"1\",\"target\":\"JoinGroup\",\"arguments\":[]}",
            "Failed to invoke 'JoinGroup' due to an error on the server." },
        { "unknown method", "{\"type\":1,\"invocationId\":\"1\",\"target\":\"DropTables\",\"arguments\":[]}",
            "Failed to invoke 'DropTables' due to an error on the server. HubException: Method does not exist." },
        { "a hostile group name", "{\"type\":1,\"invocationId\":\"1\",\"target\":\"JoinGroup\",\"arguments\":[\"room\\u0000*\"]}",
            "An unexpected error occurred invoking 'JoinGroup' on the server. HubException: group_name_invalid: " },
        { "a null message", "{\"type\":1,\"invocationId\":\"1\",\"target\":\"SendMessage\",\"arguments\":[\"x\",null]}",
            "An unexpected error occurred invoking 'SendMessage' on the server. HubException: message_empty: " },
    };

    [Theory]
    [MemberData(nameof(BadInvocations))]
    public async Task AWellFormedInvocationWithBadArgumentsIsAnsweredAndTheConnectionStays(string kind, string invocation, string error)
    {
        await using var control = await server.ControlAsync();
        await using var raw = await server.RawAsync();
        Assert.Equal("{}", await raw.HandshakeAsync());

        await raw.SendTextAsync(invocation + RS);
        var completion = await raw.NextRecordAsync(r => r.GetProperty("type").GetInt32() == 3);

        Assert.True(completion is not null, kind);
        Assert.StartsWith(error, completion.Value.GetProperty("error").GetString());
        await AssertStillAnswersAsync(raw);
        await control.AssertHealthyAsync();
    }

    public static TheoryData<string, string> IgnoredMessages() => new()
    {
        { "a result for an invocation never made", $"{{\"type\":3,\"invocationId\":\"s99\",\"result\":1}}{RS}" },
        { "a stream item for a stream never opened", $"{{\"type\":2,\"invocationId\":\"nope\",\"item\":\"x\"}}{RS}" },
        { "a cancellation of nothing", $"{{\"type\":5,\"invocationId\":\"nope\"}}{RS}" },
        { "pings", $"{{\"type\":6}}{RS}{{\"type\":6}}{RS}{{\"type\":6}}{RS}" },
        // System.Text.Json reads the first value of a record and stops: the second ping is not seen.
        { "two records without a separator (read as the first)", $"{{\"type\":6}}{{\"type\":6}}{RS}" },
    };

    [Theory]
    [MemberData(nameof(IgnoredMessages))]
    public async Task MessagesThatAskForNothingAreIgnored(string kind, string message)
    {
        await using var control = await server.ControlAsync();
        await using var raw = await server.RawAsync();
        Assert.Equal("{}", await raw.HandshakeAsync());

        await raw.SendTextAsync(message);

        await AssertStillAnswersAsync(raw, kind);
        await control.AssertHealthyAsync();
    }

    public static TheoryData<string, byte[]> UnparsableMessagePack() => new()
    {
        // A length prefix of 2^35 - 1: more than SignalR accepts (2 GB).
        { "huge length prefix", [0xFF, 0xFF, 0xFF, 0xFF, 0x7F, 0x96, 0x01] },
        // 1 MB announced, 40 KB sent: past SignalR:MaximumReceiveMessageSize.
        { "length prefix past the size limit", [0x80, 0x80, 0x40, .. new byte[40_000]] },
        { "bytes that are never MessagePack", [0x03, 0xC1, 0xC1, 0xC1] },
        { "type of the wrong type", [0x03, 0x92, 0xA1, (byte)'x', 0x01] },
        { "not an array", [0x02, 0x81, 0x01] },
        { "invocation without its fields", [0x02, 0x91, 0x01] },
        { "an unknown message type", [0x02, 0x91, 0x63] },
    };

    [Theory]
    [MemberData(nameof(UnparsableMessagePack))]
    public async Task AnUnparsableMessagePackMessageClosesThatConnectionOnly(string kind, byte[] message)
    {
        await using var control = await server.ControlAsync();
        await using var raw = await server.RawAsync();
        Assert.Equal("{}", await raw.HandshakeAsync("messagepack"));

        await raw.SendBinaryAsync(message);
        var close = await NextMessagePackAsync(raw, type: 7);

        // [7, "Connection closed with an error.", allowReconnect]
        Assert.True(close is not null, $"{kind}: closed without SignalR's close message");
        Assert.Contains(ClosedWithAnError, Encoding.UTF8.GetString(close));
        Assert.True(await raw.EndsAsync(), kind);
        await control.AssertHealthyAsync();
    }

    [Fact]
    public async Task AMessagePackInvocationWithBadArgumentsIsAnsweredAndTheConnectionStays()
    {
        await using var control = await server.ControlAsync();
        await using var raw = await server.RawAsync();
        Assert.Equal("{}", await raw.HandshakeAsync("messagepack"));

        // [1, {}, "1", "JoinGroup", [42], []]: an invocation whose argument is a number, not a name.
        byte[] body = [0x96, 0x01, 0x80, 0xA1, (byte)'1', 0xA9, .. "JoinGroup"u8, 0x91, 0x2A, 0x90];
        await raw.SendBinaryAsync([(byte)body.Length, .. body]);
        var completion = await NextMessagePackAsync(raw, type: 3);

        // [3, {}, "1", 1 (error), "Failed to invoke ..."]
        Assert.NotNull(completion);
        Assert.Contains("Failed to invoke 'JoinGroup' due to an error on the server.", Encoding.UTF8.GetString(completion));
        await control.AssertHealthyAsync();
    }

    [Fact]
    public async Task ATruncatedMessageIsWaitedForAndForgottenWhenTheClientLeaves()
    {
        await using var control = await server.ControlAsync();
        var registry = server.Get<Switchboard.Server.Hubs.ConnectionRegistry>();
        var raw = await server.RawAsync();
        await using (raw)
        {
            Assert.Equal("{}", await raw.HandshakeAsync("messagepack"));
            // 5 bytes announced, 3 sent: SignalR waits for the rest (up to the size limit).
            await raw.SendBinaryAsync([0x05, 0x96, 0x01, 0x80]);
            await control.AssertHealthyAsync();
            Assert.True(registry.Contains(raw.ConnectionId!));
        }

        await TestTimeouts.Eventually(() => !registry.Contains(raw.ConnectionId!), "the abandoned connection is gone");
        await control.AssertHealthyAsync();
    }

    /// <summary>
    /// The next MessagePack hub message of <paramref name="type"/> (7 close, 3 completion), skipping
    /// others (invocations such as UserConnected, pings); null when the server closed first.
    /// Each message is a varint length and an array whose first element is the type.
    /// </summary>
    private static async Task<byte[]?> NextMessagePackAsync(RawWebSocket raw, int type)
    {
        while (await raw.NextMessageAsync() is { } frame)
        {
            var at = 0;
            while (at < frame.Length)
            {
                var length = 0;
                var shift = 0;
                byte b;
                do { b = frame[at++]; length |= (b & 0x7F) << shift; shift += 7; } while ((b & 0x80) != 0);
                var body = frame.AsSpan(at, length);
                at += length;
                if (body.Length > 1 && body[1] == type) return body.ToArray();
            }
        }
        return null;
    }

    /// <summary>A valid invocation still gets its completion: the connection is alive and answering.</summary>
    private static async Task AssertStillAnswersAsync(RawWebSocket raw, string kind = "")
    {
        await raw.SendTextAsync($"{{\"type\":1,\"invocationId\":\"alive\",\"target\":\"JoinGroup\",\"arguments\":[\"still-here\"]}}{RS}");
        var completion = await raw.NextRecordAsync(r =>
            r.GetProperty("type").GetInt32() is 3 or 7 && (!r.TryGetProperty("invocationId", out var id) || id.GetString() == "alive"));
        Assert.True(completion is not null, $"{kind}: closed");
        Assert.True(completion.Value.GetProperty("type").GetInt32() == 3, $"{kind}: {completion}");
        Assert.False(completion.Value.TryGetProperty("error", out _), $"{kind}: {completion}");
    }
}
