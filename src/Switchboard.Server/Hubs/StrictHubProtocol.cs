using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;

namespace Switchboard.Server.Hubs;

/// <summary>
/// SignalR's JSON or MessagePack protocol, except that a whole message of a type the protocol
/// does not know closes the connection instead of wedging it.
/// <para>
/// Both protocols answer an unknown message type (<c>{"type":99}</c>) with "no message yet"
/// after consuming it, and SignalR's connection handler then keeps the read position before
/// it: the same bytes are parsed again on every read, every later message of that connection is
/// silently ignored, and the connection lingers until the client timeout. Turning that case into
/// an <see cref="InvalidDataException"/> makes SignalR close the connection at once with
/// <c>Connection closed with an error.</c>, like any other unparsable message.
/// </para>
/// <para>
/// It also writes an <see cref="InvocationRun"/> as the frames it carries.
/// </para>
/// </summary>
internal sealed class StrictHubProtocol(IHubProtocol inner) : IHubProtocol
{
    public string Name => inner.Name;
    public int Version => inner.Version;
    public TransferFormat TransferFormat => inner.TransferFormat;

    public bool TryParseMessage(ref ReadOnlySequence<byte> input, IInvocationBinder binder, [NotNullWhen(true)] out HubMessage? message)
    {
        var before = input.Length;
        if (inner.TryParseMessage(ref input, binder, out message))
        {
            return true;
        }
        if (input.Length != before)
        {
            throw new InvalidDataException("A message of a type this server does not know was received.");
        }
        return false; // an incomplete message: wait for more
    }

    public void WriteMessage(HubMessage message, IBufferWriter<byte> output)
    {
        if (InvocationRun.Of(message) is { } run)
        {
            foreach (var frame in run.Messages)
            {
                inner.WriteMessage(frame, output);
            }
            return;
        }
        inner.WriteMessage(message, output);
    }

    public ReadOnlyMemory<byte> GetMessageBytes(HubMessage message)
    {
        if (InvocationRun.Of(message) is { } run)
        {
            var output = new ArrayBufferWriter<byte>(run.Messages.Length * 256);
            foreach (var frame in run.Messages)
            {
                inner.WriteMessage(frame, output);
            }
            return output.WrittenMemory;
        }
        return inner.GetMessageBytes(message);
    }
    public bool IsVersionSupported(int version) => inner.IsVersionSupported(version);
}
