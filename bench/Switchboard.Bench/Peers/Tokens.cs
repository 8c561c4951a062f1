using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Switchboard.Bench.Peers;

/// <summary>
/// HS256 tokens for the generator's many users, made in process with the key the benchmark gave
/// its servers (one <c>token</c> command per user would take minutes for 1,000 users). They carry
/// what the server's own <c>token</c> command puts in: iss, aud, iat, nbf, exp, sub, name, role.
/// </summary>
internal static class Tokens
{
    public const string Key = "switchboard-bench-signing-key-0123456789abcdef";
    public const string Issuer = "switchboard";
    public const string Audience = "switchboard";

    public static string Create(string userId, params string[] roles)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var claims = new Dictionary<string, object>
        {
            ["iss"] = Issuer,
            ["aud"] = Audience,
            ["iat"] = now,
            ["nbf"] = now,
            ["exp"] = now + 6 * 3600,
            ["sub"] = userId,
            ["name"] = userId,
        };
        if (roles.Length > 0) claims["role"] = roles;
        var header = Base64Url("""{"alg":"HS256","typ":"JWT"}"""u8);
        var payload = Base64Url(JsonSerializer.SerializeToUtf8Bytes(claims));
        var signature = HMACSHA256.HashData(Encoding.UTF8.GetBytes(Key), Encoding.ASCII.GetBytes($"{header}.{payload}"));
        return $"{header}.{payload}.{Base64Url(signature)}";
    }

    private static string Base64Url(ReadOnlySpan<byte> bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
