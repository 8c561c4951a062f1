using Microsoft.AspNetCore.SignalR.Protocol;

namespace Switchboard.Server.Hubs;

/// <summary>
/// Several invocations that one send through the lifetime manager carries to every connection
/// as consecutive SignalR frames, in one write. It travels as the single argument of an
/// invocation of <see cref="Target"/>, which <see cref="StrictHubProtocol"/> writes as the
/// frames of <see cref="Messages"/>, so clients see ordinary invocations and never this one.
/// That works the same through SignalR's default lifetime manager and its Redis backplane
/// (which serializes before publishing), and each protocol's frames are made once per run.
/// </summary>
internal sealed class InvocationRun(InvocationMessage[] messages)
{
    /// <summary>The method name of the carrying invocation; never written to a client.</summary>
    public const string Target = "$switchboard:run";

    public InvocationMessage[] Messages { get; } = messages;

    /// <summary>The run <paramref name="message"/> carries, or null for any other message.</summary>
    public static InvocationRun? Of(HubMessage message) =>
        message is InvocationMessage { Target: Target, Arguments: [InvocationRun run] } ? run : null;
}
