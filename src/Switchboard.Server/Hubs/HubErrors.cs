using Microsoft.AspNetCore.SignalR;
using Switchboard.Contracts;

namespace Switchboard.Server.Hubs;

/// <summary>Turns a refusal into the <see cref="HubException"/> clients see: <c>"{code}: {sentence}"</c>.</summary>
internal static class HubErrors
{
    public static HubException ToHubException(this SwitchboardError error) => new(error.ToString());

    /// <summary>Throws when <paramref name="error"/> is not null; the hub method stops there.</summary>
    public static void ThrowIf(SwitchboardError? error)
    {
        if (error is not null)
        {
            throw error.ToHubException();
        }
    }

    public static SwitchboardError PermissionDenied(string what) =>
        new(ErrorCodes.PermissionDenied, $"{what} needs a role the caller does not have.");
}
