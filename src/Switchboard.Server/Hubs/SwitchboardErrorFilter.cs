using Microsoft.AspNetCore.SignalR;
using Switchboard.Contracts;
using Switchboard.Core;
using Switchboard.Server.Hosting;
using Switchboard.Core.Diagnostics;

namespace Switchboard.Server.Hubs;

/// <summary>
/// Turns a refusal raised in Core into the <see cref="HubException"/> the client sees, with its
/// code, and counts every coded refusal of every hub method.
/// </summary>
internal sealed class SwitchboardErrorFilter(SwitchboardMetrics metrics) : IHubFilter
{
    public async ValueTask<object?> InvokeMethodAsync(HubInvocationContext invocationContext,
        Func<HubInvocationContext, ValueTask<object?>> next)
    {
        try
        {
            return await next(invocationContext);
        }
        catch (SwitchboardException e)
        {
            metrics.Refused(e.Error.Code);
            throw e.Error.ToHubException();
        }
        catch (HubException e) when (CodeOf(e.Message) is { } code)
        {
            metrics.Refused(code);
            throw;
        }
        catch (Exception e) when (Unavailability.IsUnavailable(e))
        {
            metrics.Refused(ErrorCodes.Unavailable);
            throw Unavailability.Error.ToHubException();
        }
    }

    /// <summary>Switchboard's hub errors read "{code}: {sentence}", the code in lower snake case.</summary>
    private static string? CodeOf(string message)
    {
        var colon = message.IndexOf(": ", StringComparison.Ordinal);
        return colon > 0 && message.AsSpan(0, colon).ContainsAnyExcept("abcdefghijklmnopqrstuvwxyz_") is false
            ? message[..colon]
            : null;
    }
}
