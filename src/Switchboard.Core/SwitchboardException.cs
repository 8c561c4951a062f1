using Switchboard.Contracts;

namespace Switchboard.Core;

/// <summary>A refusal raised inside Core; hubs and the HTTP API turn it into their own error shape.</summary>
public sealed class SwitchboardException(SwitchboardError error, Exception? inner = null) : Exception(error.ToString(), inner)
{
    public SwitchboardError Error { get; } = error;

    public static void ThrowIf(SwitchboardError? error)
    {
        if (error is not null)
        {
            throw new SwitchboardException(error);
        }
    }
}
