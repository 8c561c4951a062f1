using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Switchboard.Server.Authentication;
using Switchboard.Web.Tests.Infrastructure;

namespace Switchboard.Web.Tests;

/// <summary>What serving the web app must not change: no dev sign-in outside Development, hubs and API as guarded as before.</summary>
public sealed class SecurityTests
{
    private const string TestKey = "switchboard-web-tests-signing-key-0123456789abcdef";

    private static StringContent Json(string json) => new(json, System.Text.Encoding.UTF8, "application/json");

    private static async Task<string?> CodeOf(HttpResponseMessage response) =>
        (await response.Content.ReadFromJsonAsync<JsonElement>()).TryGetProperty("code", out var code) ? code.GetString() : null;

    [Theory]
    [InlineData("Production")]
    [InlineData("Staging")]
    public async Task OutsideDevelopmentThereIsNoDevSignInButTheAppIsServed(string environment)
    {
        await using var server = new WebAppServer(environment, new() { ["Jwt:Key"] = TestKey });
        using var http = server.Http();

        using var mint = await http.PostAsync("/dev/token", Json("""{ "user": "eve", "roles": ["Admin"] }"""));
        Assert.Equal(HttpStatusCode.NotFound, mint.StatusCode);
        Assert.False((await http.GetFromJsonAsync<JsonElement>("/app-config.json")).GetProperty("devSignIn").GetBoolean());

        using var index = await http.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, index.StatusCode);
        Assert.Equal("text/html", index.Content.Headers.ContentType?.MediaType);
        Assert.Contains("script-src 'self'", index.Headers.GetValues("Content-Security-Policy").Single());
        Assert.Equal("nosniff", index.Headers.GetValues("X-Content-Type-Options").Single());
        using var script = await http.GetAsync("/app.js");
        Assert.Equal(HttpStatusCode.OK, script.StatusCode);
    }

    [Fact]
    public async Task DevelopmentWithASigningKeyOfItsOwnHasNoDevSignIn()
    {
        await using var server = new WebAppServer("Development", new() { ["Jwt:Key"] = TestKey });
        using var http = server.Http();
        using var mint = await http.PostAsync("/dev/token", Json("""{ "user": "eve", "roles": ["Admin"] }"""));
        Assert.Equal(HttpStatusCode.NotFound, mint.StatusCode);
        Assert.False((await http.GetFromJsonAsync<JsonElement>("/app-config.json")).GetProperty("devSignIn").GetBoolean());
    }

    [Fact]
    public async Task InDevelopmentTheDevSignInMintsTokensTheServerAcceptsAndRefusesBadInputWithCodes()
    {
        await using var server = new WebAppServer();
        using var http = server.Http();

        using var mint = await http.PostAsync("/dev/token", Json("""{ "user": "dana", "name": "Dana", "roles": ["Publisher"] }"""));
        Assert.Equal(HttpStatusCode.OK, mint.StatusCode);
        var body = await mint.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("dana", body.GetProperty("user").GetString());
        Assert.Equal("Dana", body.GetProperty("name").GetString());
        using var withToken = server.Http(body.GetProperty("token").GetString());
        using var stats = await withToken.GetAsync("/api/stats");
        Assert.Equal(HttpStatusCode.OK, stats.StatusCode);

        using var noRoles = await http.PostAsync("/dev/token", Json("""{ "user": "dan" }"""));
        using var plain = server.Http((await noRoles.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("token").GetString());
        using var refused = await plain.GetAsync("/api/stats");
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);

        (string Body, string? ContentType, string Code)[] bad =
        [
            ("""{ "user": "not valid" }""", "application/json", "user_id_invalid"),
            ("""{ "user": "ok", "name": "   " }""", "application/json", "user_name_invalid"),
            ("""{ "user": "ok", "roles": ["Root"] }""", "application/json", "argument_invalid"),
            ("""{ "user": "ok" }""", "text/plain", "body_invalid"),
            ("""[1, 2]""", "application/json", "body_invalid"),
        ];
        foreach (var (json, contentType, code) in bad)
        {
            using var content = new StringContent(json, System.Text.Encoding.UTF8, contentType);
            using var response = await http.PostAsync("/dev/token", content);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Equal(code, await CodeOf(response));
        }
    }

    [Fact]
    public async Task TheHubOriginCheckAndAuthenticationAreAsBefore()
    {
        await using var server = new WebAppServer();
        var token = server.Token("olga", "Olga");

        async Task<HttpResponseMessage> Negotiate(string? origin, string? bearer)
        {
            using var http = server.Http(bearer);
            var request = new HttpRequestMessage(HttpMethod.Post, "/hubs/chat/negotiate?negotiateVersion=1");
            if (origin is not null) request.Headers.Add("Origin", origin);
            return await http.SendAsync(request);
        }

        using (var foreign = await Negotiate("http://evil.example", token))
        {
            Assert.Equal(HttpStatusCode.Forbidden, foreign.StatusCode);
            Assert.Equal("origin_not_allowed", await CodeOf(foreign));
        }
        using (var anonymous = await Negotiate(server.BaseUrl, null))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        }
        using (var sameOrigin = await Negotiate(server.BaseUrl, token))
        {
            Assert.Equal(HttpStatusCode.OK, sameOrigin.StatusCode);
        }
        // The query string token is still only for hubs.
        using var query = server.Http();
        using var api = await query.GetAsync($"/api/stats?access_token={server.Token("root", "Root", "Admin")}");
        Assert.Equal(HttpStatusCode.Unauthorized, api.StatusCode);
    }

    [Theory]
    [InlineData("/api/connections")]
    [InlineData("/api/groups")]
    [InlineData("/api/stats/messages")]
    public async Task TheAdminReadRoutesNeedAdminOrPublisher(string path)
    {
        await using var server = new WebAppServer();

        using var anonymous = await server.Http().GetAsync(path);
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal("unauthenticated", await CodeOf(anonymous));

        using var user = await server.Http(server.Token("ursula")).GetAsync(path);
        Assert.Equal(HttpStatusCode.Forbidden, user.StatusCode);
        Assert.Equal("permission_denied", await CodeOf(user));

        foreach (var role in new[] { Roles.Publisher, Roles.Admin })
        {
            using var allowed = await server.Http(server.Token("pia", "Pia", role)).GetAsync(path);
            Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
            Assert.Equal("application/json", allowed.Content.Headers.ContentType?.MediaType);
        }
    }
}
