using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Switchboard.Server.Authentication;

/// <summary>
/// Mints HS256 tokens that this server accepts: the code path behind the <c>token</c> command
/// and the tests.
/// </summary>
public sealed class TokenIssuer(IOptions<JwtOptions> options, TimeProvider time)
{
    private static readonly JsonWebTokenHandler Handler = new();

    public string Issue(string userId, string? name = null, IEnumerable<string>? roles = null, TimeSpan? lifetime = null)
    {
        var jwt = options.Value;
        var now = time.GetUtcNow().UtcDateTime;
        var claims = new Dictionary<string, object>
        {
            [SwitchboardClaims.Subject] = userId,
            [SwitchboardClaims.Name] = string.IsNullOrEmpty(name) ? userId : name,
        };
        var roleList = roles?.Distinct(StringComparer.Ordinal).ToArray() ?? [];
        if (roleList.Length > 0)
        {
            claims[SwitchboardClaims.Role] = roleList;
        }
        return Handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = jwt.Issuer,
            Audience = jwt.Audience,
            IssuedAt = now,
            NotBefore = now,
            Expires = now + (lifetime ?? jwt.TokenLifetime),
            Claims = claims,
            SigningCredentials = new SigningCredentials(
                new SymmetricSecurityKey(jwt.KeyBytes()), SecurityAlgorithms.HmacSha256),
        });
    }
}
