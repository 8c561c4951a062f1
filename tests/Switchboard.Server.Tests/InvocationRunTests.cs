using System.Buffers;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;
using Microsoft.Extensions.Options;
using Switchboard.Server.Hubs;

namespace Switchboard.Server.Tests;

/// <summary>
/// A run of invocations is written as exactly the frames the protocol writes for each of them,
/// back to back, in both protocols and through both ways SignalR asks for bytes; a client
/// parses them as ordinary invocations and never sees the carrying one.
/// </summary>
public sealed class InvocationRunTests
{
    public static TheoryData<string> Protocols() => new() { "json", "messagepack" };

    private static IHubProtocol Inner(string name) => name == "json"
        ? new JsonHubProtocol(Options.Create(new JsonHubProtocolOptions()))
        : new MessagePackHubProtocol(Options.Create(new MessagePackHubProtocolOptions()));

    private sealed class Binder : IInvocationBinder
    {
        public IReadOnlyList<Type> GetParameterTypes(string methodName) => [typeof(string), typeof(string)];
        public Type GetReturnType(string invocationId) => typeof(object);
        public Type GetStreamItemType(string streamId) => typeof(object);
    }

    [Theory]
    [MemberData(nameof(Protocols))]
    public void ARunIsWrittenAsTheFramesItCarriesInOrder(string protocolName)
    {
        var inner = Inner(protocolName);
        var strict = new StrictHubProtocol(inner);
        var frames = Enumerable.Range(1, 3).Select(i => new InvocationMessage("ReceiveMessage", [$"user{i}", $"message {i}"])).ToArray();
        var carrier = new InvocationMessage(InvocationRun.Target, [new InvocationRun(frames)]);

        var expected = frames.SelectMany(f => inner.GetMessageBytes(f).ToArray()).ToArray();
        var written = new ArrayBufferWriter<byte>();
        strict.WriteMessage(carrier, written);
        Assert.Equal(expected, strict.GetMessageBytes(carrier).ToArray());
        Assert.Equal(expected, written.WrittenSpan.ToArray());
        // The cached form SignalR's lifetime managers write to each connection.
        Assert.Equal(expected, new SerializedHubMessage(carrier).GetSerializedMessage(strict).ToArray());

        var input = new ReadOnlySequence<byte>(expected);
        var parsed = new List<InvocationMessage>();
        while (strict.TryParseMessage(ref input, new Binder(), out var message))
        {
            parsed.Add(Assert.IsType<InvocationMessage>(message));
        }
        Assert.Equal(0, input.Length);
        Assert.Equal(frames.Select(f => ("ReceiveMessage", (string)f.Arguments[0]!, (string)f.Arguments[1]!)),
            parsed.Select(p => (p.Target, (string)p.Arguments[0]!, (string)p.Arguments[1]!)));
    }

    [Theory]
    [MemberData(nameof(Protocols))]
    public void AnyOtherMessageIsWrittenAsBefore(string protocolName)
    {
        var inner = Inner(protocolName);
        var strict = new StrictHubProtocol(inner);
        // A client could name the run's target itself: with any other argument it is an ordinary invocation.
        foreach (var message in new HubMessage[]
                 {
                     new InvocationMessage("ReceiveMessage", ["a", "b"]),
                     new InvocationMessage(InvocationRun.Target, ["not a run"]),
                     PingMessage.Instance,
                 })
        {
            Assert.Equal(inner.GetMessageBytes(message).ToArray(), strict.GetMessageBytes(message).ToArray());
        }
    }
}
