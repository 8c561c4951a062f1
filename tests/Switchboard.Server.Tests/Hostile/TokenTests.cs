using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Switchboard.Contracts;
using Switchboard.Server.Tests.Infrastructure;

namespace Switchboard.Server.Tests.Hostile;

/// <summary>
/// Token attacks not covered by <c>AuthenticationTests</c> (which has expired, not yet valid,
/// forged, wrong issuer and audience, garbage, <c>alg: none</c> and HS512): algorithm confusion
/// with an embedded public key, <c>none</c> in other spellings, a stripped signature, and tokens
/// too large for the request. Each is refused on the hubs and the API, and nothing else notices.
/// </summary>
public sealed class TokenTests(HostileServer server) : IClassFixture<HostileServer>
{
    private static string B64(string json) => Base64UrlEncoder.Encode(json);

    private static string ValidPayload() =>
        B64($"{{\"sub\":\"mallory\",\"role\":\"Admin\",\"iss\":\"switchboard\",\"aud\":\"switchboard\",\"exp\":{DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeSeconds()}}}");

    public static TheoryData<string, string> ForgedTokens()
    {
        var data = new TheoryData<string, string>();
        foreach (var none in new[] { "None", "NONE", "nOnE" })
        {
            data.Add($"alg {none}", B64($"{{\"alg\":\"{none}\",\"typ\":\"JWT\"}}") + "." + ValidPayload() + ".");
        }
        // RS256 signed with the attacker's own key, which the token carries in its header (jwk injection).
        using var rsa = RSA.Create(2048);
        var key = new RsaSecurityKey(rsa.ExportParameters(true)) { KeyId = "attacker" };
        var jwk = JsonWebKeyConverter.ConvertFromRSASecurityKey(new RsaSecurityKey(rsa.ExportParameters(false)) { KeyId = "attacker" });
        data.Add("RS256 with an embedded jwk", new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = "switchboard", Audience = "switchboard", Expires = DateTime.UtcNow.AddHours(1),
            Claims = new Dictionary<string, object> { ["sub"] = "mallory", ["role"] = "Admin" },
            AdditionalHeaderClaims = new Dictionary<string, object>
            {
                ["jwk"] = new Dictionary<string, object> { ["kty"] = "RSA", ["kid"] = "attacker", ["n"] = jwk.N, ["e"] = jwk.E },
            },
            SigningCredentials = new SigningCredentials(key, SecurityAlgorithms.RsaSha256),
        }));
        // HS256 keyed with something public: the RSA public key's bytes, as in the classic confusion.
        data.Add("HS256 keyed with a public key", new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = "switchboard", Audience = "switchboard", Expires = DateTime.UtcNow.AddHours(1),
            Claims = new Dictionary<string, object> { ["sub"] = "mallory" },
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(rsa.ExportSubjectPublicKeyInfo()), SecurityAlgorithms.HmacSha256),
        }));
        // A valid HS256 token with its signature removed.
        var issued = new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = "switchboard", Audience = "switchboard", Expires = DateTime.UtcNow.AddHours(1),
            Claims = new Dictionary<string, object> { ["sub"] = "mallory" },
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(SwitchboardFactory.TestKey)), SecurityAlgorithms.HmacSha256),
        });
        data.Add("signature stripped", issued[..(issued.LastIndexOf('.') + 1)]);
        data.Add("payload only", ValidPayload());
        return data;
    }

    [Theory]
    [MemberData(nameof(ForgedTokens))]
    public async Task ForgedTokensAreRefusedEverywhere(string kind, string token)
    {
        await using var control = await server.ControlAsync();
        using var http = server.Http(token);

        var negotiate = await http.PostAsync($"{HubRoutes.Chat}/negotiate?negotiateVersion=1", null).DefaultTimeout();
        var api = await http.GetAsync("/api/presence/users/mallory").DefaultTimeout();
        using var anonymous = server.Http();
        var queryString = await anonymous.PostAsync($"{HubRoutes.Robust}/negotiate?negotiateVersion=1&access_token={token}", null).DefaultTimeout();

        Assert.True(negotiate.StatusCode == HttpStatusCode.Unauthorized, $"{kind}: hub {negotiate.StatusCode}");
        Assert.True(api.StatusCode == HttpStatusCode.Unauthorized, $"{kind}: api {api.StatusCode}");
        // robust is open to anonymous callers here, but a token that is presented must be valid.
        Assert.True(queryString.StatusCode == HttpStatusCode.Unauthorized, $"{kind}: query string {queryString.StatusCode}");
        await control.AssertHealthyAsync();
    }

    [Fact]
    public async Task ATokenTooLargeForTheHeadersIsRefusedBeforeAuthentication()
    {
        await using var control = await server.ControlAsync();
        var huge = "eyJ" + new string('A', 64 * 1024) + ".e30.sig";
        using var http = server.Http(huge);

        var negotiate = await http.PostAsync($"{HubRoutes.Chat}/negotiate?negotiateVersion=1", null).DefaultTimeout();
        var api = await http.GetAsync("/api/presence/users/mallory").DefaultTimeout();

        Assert.Equal(HttpStatusCode.RequestHeaderFieldsTooLarge, negotiate.StatusCode);
        Assert.Equal(HttpStatusCode.RequestHeaderFieldsTooLarge, api.StatusCode);
        await control.AssertHealthyAsync();
    }

    [Fact]
    public async Task ATokenTooLargeForTheRequestLineIsRefused()
    {
        await using var control = await server.ControlAsync();
        using var http = server.Http();
        var huge = "eyJ" + new string('A', 16 * 1024) + ".e30.sig";

        var negotiate = await http.PostAsync($"{HubRoutes.Chat}/negotiate?negotiateVersion=1&access_token={huge}", null).DefaultTimeout();

        Assert.Equal(HttpStatusCode.RequestUriTooLong, negotiate.StatusCode);
        await control.AssertHealthyAsync();
    }

    [Fact]
    public async Task ALargeButWellFormedForgeryIsRefusedLikeAnyOther()
    {
        await using var control = await server.ControlAsync();
        // 20 KB of claims, under Kestrel's header limits, signed with the wrong key.
        var token = new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = "switchboard", Audience = "switchboard", Expires = DateTime.UtcNow.AddHours(1),
            Claims = new Dictionary<string, object> { ["sub"] = "mallory", ["padding"] = new string('p', 20_000) },
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(RandomNumberGenerator.GetBytes(32)), SecurityAlgorithms.HmacSha256),
        });
        using var http = server.Http(token);

        var response = await http.GetAsync("/api/presence/users/mallory").DefaultTimeout();

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        await control.AssertHealthyAsync();
    }
}
