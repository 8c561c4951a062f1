using Microsoft.AspNetCore.SignalR;
using Switchboard.Core;

namespace Switchboard.Server.Hubs;

/// <summary>Turns a refusal raised in Core into the <see cref="HubException"/> the client sees, with its code.</summary>
internal sealed class SwitchboardErrorFilter : IHubFilter
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
            throw e.Error.ToHubException();
        }
    }
}
