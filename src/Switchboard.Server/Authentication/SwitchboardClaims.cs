using System.Security.Claims;

namespace Switchboard.Server.Authentication;

/// <summary>The token claims Switchboard reads. Inbound claim mapping is off, so these are the JWT names.</summary>
public static class SwitchboardClaims
{
    /// <summary>The user id.</summary>
    public const string Subject = "sub";
    /// <summary>The display name others see.</summary>
    public const string Name = "name";
    /// <summary>A role; repeated (a JSON array) for several.</summary>
    public const string Role = "role";

    /// <summary>
    /// The principal a connection keeps: only the claims Switchboard reads (sub, name, role), as
    /// plain claims. The validated token's own identity holds the parsed token and every claim
    /// with its properties, several kilobytes that a hub connection would otherwise carry for
    /// its whole life. Lifetime (exp) lives on in the authentication result, where
    /// CloseOnAuthenticationExpiration reads it.
    /// </summary>
    public static ClaimsPrincipal Slim(ClaimsPrincipal validated, string authenticationType)
    {
        var kept = new List<Claim>(4);
        foreach (var claim in validated.Claims)
        {
            if (claim.Type is Subject or Name or Role)
            {
                kept.Add(new Claim(claim.Type, claim.Value, claim.ValueType, claim.Issuer));
            }
        }
        return new ClaimsPrincipal(new ClaimsIdentity(kept, authenticationType, Name, Role));
    }

    public static string? UserId(this ClaimsPrincipal? user) => user?.FindFirst(Subject)?.Value;

    /// <summary>The token's <c>name</c>, falling back to its <c>sub</c>; null when not signed in.</summary>
    public static string? DisplayName(this ClaimsPrincipal? user) =>
        user?.Identity?.IsAuthenticated == true ? user.Identity.Name ?? user.UserId() : null;
}

/// <summary>Role names carried in the <c>role</c> claim.</summary>
public static class Roles
{
    public const string Admin = "Admin";
    public const string Publisher = "Publisher";
}

/// <summary>Authorization policy names.</summary>
public static class Policies
{
    /// <summary>Role Admin or Publisher: everything that publishes or inspects through the HTTP API.</summary>
    public const string Publisher = "Publisher";

    /// <summary>Any signed-in user: every hub unless configuration opens it.</summary>
    public const string SignedIn = "SignedIn";

    /// <summary>Anyone without a token, or with a valid one: hubs opened by <c>Switchboard:AllowAnonymousHubs</c>.</summary>
    public const string AnonymousOrValidToken = "AnonymousOrValidToken";
}
