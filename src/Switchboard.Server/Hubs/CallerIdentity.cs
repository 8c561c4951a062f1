using Microsoft.AspNetCore.SignalR;
using Switchboard.Core.Validation;
using Switchboard.Server.Authentication;

namespace Switchboard.Server.Hubs;

internal static class CallerIdentity
{
    /// <summary>
    /// The name other users see for the caller. A signed-in caller is their token's name, whatever
    /// the <paramref name="claimed"/> argument says (no impersonation); only an anonymous caller
    /// of a hub opened by configuration is known by the name they give, which must be valid.
    /// </summary>
    public static string SenderName(this HubCallerContext context, string? claimed)
    {
        if (context.User.DisplayName() is { } name)
        {
            return name;
        }
        HubErrors.ThrowIf(InputRules.CheckUserName(claimed));
        return claimed!;
    }

    /// <summary>The caller's token name, or "Anonymous" on a hub opened to anonymous users (as in the guide).</summary>
    public static string NameOrAnonymous(this HubCallerContext context) => context.User.DisplayName() ?? "Anonymous";
}
