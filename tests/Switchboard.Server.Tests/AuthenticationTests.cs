using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.SignalR;
using System.Diagnostics;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Switchboard.Contracts;
using Switchboard.Server.Authentication;
using Switchboard.Server.Tests.Infrastructure;

namespace Switchboard.Server.Tests;

public sealed class AuthenticationTests(SwitchboardFactory server) : IClassFixture<SwitchboardFactory>
{
    private static TokenIssuer Issuer(Action<JwtOptions>? change = null, TimeSpan? clockOffset = null)
    {
        var options = new JwtOptions { Key = SwitchboardFactory.TestKey };
        change?.Invoke(options);
        return new TokenIssuer(Options.Create(options), new OffsetTimeProvider(clockOffset ?? TimeSpan.Zero));
    }

    public static TheoryData<string, string> BadTokens()
    {
        var data = new TheoryData<string, string>
        {
            { "expired", Issuer(clockOffset: TimeSpan.FromHours(-2)).Issue("zed", lifetime: TimeSpan.FromHours(1)) },
            { "not yet valid", Issuer(clockOffset: TimeSpan.FromHours(2)).Issue("zed") },
            { "forged (other key)", Issuer(o => o.Key = "an-attackers-own-signing-key-0123456789abcdef").Issue("zed", roles: ["Admin"]) },
            { "wrong audience", Issuer(o => o.Audience = "someone-else").Issue("zed") },
            { "wrong issuer", Issuer(o => o.Issuer = "someone-else").Issue("zed") },
            { "garbage", "not-a-token" },
        };
        // alg:none: a well-formed, unsigned token with valid claims.
        var valid = Issuer().Issue("zed", roles: ["Admin"]);
        var payload = valid.Split('.')[1];
        data.Add("unsigned (alg none)", Base64UrlEncoder.Encode("{\"alg\":\"none\",\"typ\":\"JWT\"}") + "." + payload + ".");
        // Algorithm confusion: the same claims signed with HS512 using the right key.
        var hs512 = new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = "switchboard", Audience = "switchboard", Expires = DateTime.UtcNow.AddHours(1),
            Claims = new Dictionary<string, object> { ["sub"] = "zed" },
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(
                Encoding.UTF8.GetBytes(SwitchboardFactory.TestKey + SwitchboardFactory.TestKey)), SecurityAlgorithms.HmacSha512),
        });
        data.Add("other algorithm (HS512)", hs512);
        return data;
    }

    [Theory]
    [MemberData(nameof(BadTokens))]
    public async Task HubsRefuseBadTokens(string kind, string token)
    {
        await using var connection = server.Hub(HubRoutes.Chat, token);
        var error = await Assert.ThrowsAsync<HttpRequestException>(() => connection.StartedAsync());
        Assert.True(error.StatusCode == HttpStatusCode.Unauthorized, $"{kind}: {error.StatusCode}");
    }

    [Theory]
    [MemberData(nameof(BadTokens))]
    public async Task TheApiRefusesBadTokens(string kind, string token)
    {
        using var http = server.Http(token);
        var response = await http.GetAsync("/api/presence/users/zed").DefaultTimeout();
        Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{kind}: {response.StatusCode}");
    }

    [Fact]
    public async Task HubsRefuseConnectionsWithoutAToken()
    {
        foreach (var hub in new[] { HubRoutes.Chat, HubRoutes.Notifications, HubRoutes.SecureChat, HubRoutes.TypedChat,
                     HubRoutes.Streaming, HubRoutes.Upload, HubRoutes.Robust })
        {
            await using var connection = server.Hub(hub, token: null);
            var error = await Assert.ThrowsAsync<HttpRequestException>(() => connection.StartedAsync());
            Assert.Equal(HttpStatusCode.Unauthorized, error.StatusCode);
        }
    }

    [Fact]
    public async Task TheAccessTokenQueryStringIsHonouredOnHubPathsOnly()
    {
        var token = server.Token("yara", roles: ["Admin"]);
        using var http = server.Http();

        var negotiate = await http.PostAsync($"/hubs/chat/negotiate?negotiateVersion=1&access_token={token}", null).DefaultTimeout();
        var api = await http.GetAsync($"/api/presence/users/yara?access_token={token}").DefaultTimeout();

        Assert.Equal(HttpStatusCode.OK, negotiate.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, api.StatusCode);
    }

    [Fact]
    public async Task ATokenIsValidatedOnceThenAnsweredFromTheCacheAndATamperedCopyIsStillRefused()
    {
        var token = server.Token("quinn", roles: ["Publisher"]);
        var cache = server.Get<ValidatedTokens>();
        Assert.False(cache.IsRemembered(token));

        using (var http = server.Http(token))
        {
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/api/presence/users/quinn").DefaultTimeout()).StatusCode);
            Assert.True(cache.IsRemembered(token)); // validated in full, then remembered
            var hits = cache.Hits;
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/api/presence/users/quinn").DefaultTimeout()).StatusCode);
            Assert.True(cache.Hits > hits);
        }

        // The same token with its signature changed, or its payload: another key, validated in full, refused.
        var parts = token.Split('.');
        var signature = parts[2][..^1] + (parts[2][^1] == 'A' ? 'B' : 'A');
        var payload = Base64UrlEncoder.Encode(Base64UrlEncoder.Decode(parts[1]).Replace("\"quinn\"", "\"admin\""));
        foreach (var tampered in new[] { $"{parts[0]}.{parts[1]}.{signature}", $"{parts[0]}.{payload}.{parts[2]}" })
        {
            using var http = server.Http(tampered);
            Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("/api/presence/users/quinn").DefaultTimeout()).StatusCode);
            Assert.False(cache.IsRemembered(tampered));
        }
    }

    [Fact]
    public async Task AHubConnectionFromACachedTokenStillCarriesItsExpiry()
    {
        var token = server.Token("rhea", lifetime: TimeSpan.FromMinutes(10));
        using (var http = server.Http(token))
        {
            Assert.Equal(HttpStatusCode.OK, (await http.PostAsync("/hubs/chat/negotiate?negotiateVersion=1", null).DefaultTimeout()).StatusCode);
        }
        Assert.True(server.Get<ValidatedTokens>().IsRemembered(token));

        await using var connection = server.Hub(HubRoutes.Chat, token);
        await connection.StartedAsync();
        var registry = server.Get<Hubs.ConnectionRegistry>();
        await TestTimeouts.Eventually(() => registry.Contains(connection.ConnectionId!), "the connection is registered");
        Assert.True(registry.TryGet(connection.ConnectionId!, out var context));
        // The connect request's own result, which CloseOnAuthenticationExpiration read.
        var result = context.GetHttpContext()!.Features.Get<Microsoft.AspNetCore.Authentication.IAuthenticateResultFeature>()?.AuthenticateResult;
        Assert.Equal("rhea", context.User.UserId());
        var expires = result?.Properties?.ExpiresUtc;
        Assert.NotNull(expires);
        Assert.InRange(expires!.Value, DateTimeOffset.UtcNow.AddMinutes(8), DateTimeOffset.UtcNow.AddMinutes(11));
    }

    [Fact]
    public async Task AConnectionIsClosedWhenItsTokenExpires()
    {
        // Long enough to connect on a loaded machine (exp has whole seconds, so up to one less).
        await using var connection = server.Hub(HubRoutes.Chat, server.Token("xavier", lifetime: TimeSpan.FromSeconds(4)));
        var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        connection.Closed += _ => { closed.TrySetResult(); return Task.CompletedTask; };
        await connection.StartedAsync();
        Assert.Equal(HubConnectionState.Connected, connection.State);

        await closed.Task.DefaultTimeout();

        Assert.Equal(HubConnectionState.Disconnected, connection.State);
    }

    [Fact]
    public async Task AConnectionKeepsOnlyItsUserIdNameAndRolesNotTheToken()
    {
        var token = server.Token("tess", "Tess", roles: ["Admin", "Publisher"]);
        await using var connection = new HubConnectionBuilder()
            .WithUrl(server.BaseUrl + HubRoutes.Chat, o => o.AccessTokenProvider = () => Task.FromResult<string?>(token))
            .Build();
        await connection.StartAsync().DefaultTimeout();
        var registry = server.Get<Hubs.ConnectionRegistry>();
        await TestTimeouts.Eventually(() => registry.Contains(connection.ConnectionId!), "the connection is registered");
        Assert.True(registry.TryGet(connection.ConnectionId!, out var context));

        // Only what Switchboard reads; not iss, aud, exp, iat, nbf, nor the parsed token behind them.
        Assert.Equal(["name", "role", "role", "sub"], context.User.Claims.Select(c => c.Type).Order());
        Assert.Equal("tess", context.User.UserId());
        Assert.Equal("Tess", context.User.Identity!.Name);
        Assert.True(context.User.IsInRole("Admin") && context.User.IsInRole("Publisher"));
        Assert.DoesNotContain(context.User.Identities, i => i.BootstrapContext is not null);
        var http = context.GetHttpContext()!;
        var authentication = await http.AuthenticateAsync().DefaultTimeout();
        Assert.Null(authentication.Properties?.GetTokenValue("access_token")); // SaveToken off
        Assert.NotNull(authentication.Properties?.ExpiresUtc); // what CloseOnAuthenticationExpiration reads
    }

    [Fact]
    public async Task TheTokenCommandPrintsOnlyAJwtThatTheServerAccepts()
    {
        var output = await RunServerProcessAsync(["token", "--user", "walt", "--name", "Walt", "--role", "Admin", "--role", "Publisher", "--expires", "10m"],
            new() { ["Jwt__Key"] = SwitchboardFactory.TestKey, ["ASPNETCORE_ENVIRONMENT"] = "Testing" });

        Assert.Equal(0, output.ExitCode);
        var token = Assert.Single(output.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        var jwt = new JsonWebToken(token);
        Assert.Equal("walt", jwt.Subject);
        Assert.Equal("Walt", jwt.GetClaim("name").Value);
        Assert.Equal(["Admin", "Publisher"], jwt.Claims.Where(c => c.Type == "role").Select(c => c.Value).Order());
        Assert.InRange(jwt.ValidTo - DateTime.UtcNow, TimeSpan.FromMinutes(9), TimeSpan.FromMinutes(10));
        using var http = server.Http(token);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/api/presence/users/walt").DefaultTimeout()).StatusCode);
    }

    [Fact]
    public async Task TheTokenCommandRefusesToSignWithoutAKeyOutsideDevelopment()
    {
        var output = await RunServerProcessAsync(["token", "--user", "walt"], new() { ["ASPNETCORE_ENVIRONMENT"] = "Production" });

        Assert.NotEqual(0, output.ExitCode);
        Assert.Equal("", output.StdOut);
        Assert.Contains("Jwt:Key is not set", output.StdErr);
    }

    [Fact]
    public async Task TheTokenCommandReportsAJwtValueThatCannotBeConvertedAsAnInvalidConfiguration()
    {
        var output = await RunServerProcessAsync(["token", "--user", "walt", "--Jwt:ClockSkew=fast"],
            new() { ["Jwt__Key"] = SwitchboardFactory.TestKey, ["ASPNETCORE_ENVIRONMENT"] = "Testing" });

        Assert.Equal(1, output.ExitCode);
        Assert.Equal("", output.StdOut);
        Assert.StartsWith("token: Failed to convert configuration value 'fast' at 'Jwt:ClockSkew' to type 'System.TimeSpan'.", output.StdErr);
        Assert.DoesNotContain("Unhandled exception", output.StdErr);
    }

    [Theory]
    [InlineData("--rol", "Admin")]
    [InlineData("--role")]
    public async Task TheTokenCommandRefusesUnknownOptionsAndMissingValues(params string[] extra)
    {
        var output = await RunServerProcessAsync(["token", "--user", "walt", .. extra, "--environment", "Development"], new());

        Assert.Equal(2, output.ExitCode);
        Assert.Equal("", output.StdOut);
        Assert.Contains("usage: token", output.StdErr);
    }

    [Fact]
    public async Task AValidTokenWithoutAUsableSubjectIsRefused()
    {
        var noSubject = new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = "switchboard", Audience = "switchboard", Expires = DateTime.UtcNow.AddHours(1),
            Claims = new Dictionary<string, object> { ["name"] = "Nobody", ["role"] = "Admin" },
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(SwitchboardFactory.TestKey)), SecurityAlgorithms.HmacSha256),
        });
        using var http = server.Http(noSubject);
        var response = await http.GetAsync("/api/presence/users/zed").DefaultTimeout();

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("\"code\":\"unauthenticated\"", await response.Content.ReadAsStringAsync());
    }

    public static TheoryData<string, string?, string> BadStartupSettings() => new()
    {
        { "Production", null, "Jwt:Key is not set" },
        { "Production", JwtOptions.DevelopmentKey, "Jwt:Key is the published development key" },
        { "Testing", "too-short", "Jwt:Key is shorter than 32 bytes" },
    };

    [Theory]
    [MemberData(nameof(BadStartupSettings))]
    public async Task TheServerWillNotStartWithoutAProperSigningKey(string environment, string? key, string message)
    {
        var output = await RunServerProcessAsync(["--urls", "http://127.0.0.1:0"], new()
        {
            ["ASPNETCORE_ENVIRONMENT"] = environment,
            ["Jwt__Key"] = key,
        });

        Assert.NotEqual(0, output.ExitCode);
        Assert.Contains(message, output.StdOut + output.StdErr);
    }

    [Fact]
    public async Task TheDevelopmentEnvironmentHasADocumentedDefaultKey()
    {
        var output = await RunServerProcessAsync(["token", "--user", "dev"], new() { ["ASPNETCORE_ENVIRONMENT"] = "Development" });

        Assert.Equal(0, output.ExitCode);
        var handler = new JsonWebTokenHandler();
        var result = await handler.ValidateTokenAsync(output.StdOut.Trim(), new TokenValidationParameters
        {
            ValidIssuer = "switchboard", ValidAudience = "switchboard",
            IssuerSigningKey = new SymmetricSecurityKey(Encoding.UTF8.GetBytes(JwtOptions.DevelopmentKey)),
        });
        Assert.True(result.IsValid);
    }

    internal sealed record ProcessOutput(int ExitCode, string StdOut, string StdErr);

    /// <summary>Runs the built server as its own process (<c>dotnet Switchboard.Server.dll ...</c>), bounded in time.</summary>
    internal static async Task<ProcessOutput> RunServerProcessAsync(string[] args, Dictionary<string, string?> environment)
    {
        var start = ServerProcess.StartInfo(args);
        start.Environment.Remove("Jwt__Key");
        foreach (var (key, value) in environment)
        {
            if (value is null) start.Environment.Remove(key); else start.Environment[key] = value;
        }
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
        return new ProcessOutput(process.ExitCode, await stdout, await stderr);
    }

    private sealed class OffsetTimeProvider(TimeSpan offset) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + offset;
    }
}
