using System.Buffers;
using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;
using Microsoft.Extensions.Options;
using Switchboard.Contracts;

namespace Switchboard.Microbench;

/// <summary>
/// What one delivery costs to put on the wire, per protocol: the guide's
/// <c>ReceiveMessage(user, message)</c> and Switchboard's <c>ReceiveGroupMessage(envelope)</c>,
/// written by SignalR's own hub protocols (SignalR serialises a group send once per protocol and
/// copies the bytes to each connection, so this is paid per message, not per recipient).
/// </summary>
[MemoryDiagnoser]
public class SerialisationBenchmarks
{
    private readonly ArrayBufferWriter<byte> _buffer = new(1024);
    private IHubProtocol _protocol = null!;
    private InvocationMessage _guide = null!;
    private InvocationMessage _envelope = null!;

    [Params("json", "messagepack")]
    public string Protocol { get; set; } = "json";

    [Params(100, 2000)]
    public int PayloadLength { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _protocol = Protocol == "json"
            ? new JsonHubProtocol(Options.Create(new JsonHubProtocolOptions()))
            : new MessagePackHubProtocol(Options.Create(new MessagePackHubProtocolOptions()));
        var payload = new string('x', PayloadLength);
        _guide = new InvocationMessage("ReceiveMessage", ["alice", payload]);
        _envelope = new InvocationMessage("ReceiveGroupMessage", [new GroupEnvelope
        {
            Id = Guid.NewGuid().ToString("N"),
            Group = "room-42",
            Offset = 123_456,
            Epoch = "3f2a9c1b7d5e4a60",
            SenderId = "alice",
            SenderName = "Alice",
            Timestamp = DateTime.UtcNow,
            Payload = payload,
        }]);
    }

    [Benchmark(Baseline = true)]
    public int GuideMessage()
    {
        _buffer.ResetWrittenCount();
        _protocol.WriteMessage(_guide, _buffer);
        return _buffer.WrittenCount;
    }

    [Benchmark]
    public int Envelope()
    {
        _buffer.ResetWrittenCount();
        _protocol.WriteMessage(_envelope, _buffer);
        return _buffer.WrittenCount;
    }

    /// <summary>The bytes a group send caches and hands to every connection of the protocol.</summary>
    [Benchmark]
    public int EnvelopeBytes() => _protocol.GetMessageBytes(_envelope).Length;
}
