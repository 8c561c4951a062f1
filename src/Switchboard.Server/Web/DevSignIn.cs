using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Switchboard.Contracts;
using Switchboard.Core.Validation;
using Switchboard.Server.Api;
using Switchboard.Server.Authentication;
using Switchboard.Server.Hosting;

namespace Switchboard.Server.Web;

/// <summary>
/// <c>POST /dev/token</c>: the web app's one-click sign-in, which mints a token for any user id
/// and roles. It exists only when the server runs in the Development environment <em>and</em>
/// signs with the published development key (<see cref="JwtOptions.DevelopmentKey"/>): anyone
/// can already mint such tokens with the <c>token</c> command or any JWT library, so the route
/// grants nothing the published key does not. With any other key, or in any other environment,
/// the route is not mapped and the path answers <c>404</c>.
/// </summary>
public static class DevSignIn
{
    public const string Path = "/dev/token";

    /// <summary>The body: <c>{ "user": "alice", "name": "Alice", "roles": ["Admin"] }</c>; name and roles are optional.</summary>
    public sealed record DevTokenRequest(string? User, string? Name, string[]? Roles);

    /// <summary>The answer: <c>{ token, user, name, roles, expires }</c>.</summary>
    public sealed record DevToken(string Token, string User, string Name, string[] Roles, DateTime Expires);

    private static readonly string[] AllowedRoles = [Roles.Admin, Roles.Publisher];

    /// <summary>Whether this server maps the route: Development, signing with the development key.</summary>
    public static bool IsAvailable(WebApplication app) =>
        app.Environment.IsDevelopment() &&
        app.Services.GetRequiredService<IOptions<JwtOptions>>().Value.Key == JwtOptions.DevelopmentKey;

    public static IEndpointRouteBuilder MapDevSignIn(this IEndpointRouteBuilder app)
    {
        app.MapPost(Path, Mint)
            .AllowAnonymous()
            .RequireRateLimiting(ApiRateLimiting.Policy)
            .CountRefusals()
            .WithTags("Development")
            .WithName("MintDevelopmentToken")
            .WithSummary("Development only: a token for any user id and roles, signed with the published development key.");
        return app;
    }

    private static async Task<Results<Ok<DevToken>, ProblemHttpResult>> Mint(HttpRequest request, TokenIssuer issuer,
        IOptions<JwtOptions> jwt, IOptions<SwitchboardOptions> options, TimeProvider time, CancellationToken ct)
    {
        var (body, invalidBody) = await ApiProblems.ReadJsonAsync<DevTokenRequest>(request, options.Value.Limits.MaxRequestBodyBytes,
            "a JSON object { \"user\": \"...\", \"name\": \"optional\", \"roles\": [\"optional\"] }", "{ \"user\": \"alice\" }", ct);
        if (invalidBody is not null) return ApiProblems.Problem(invalidBody);
        if (InputRules.CheckUserId(body!.User) is { } badUser) return ApiProblems.Problem(badUser);
        var name = string.IsNullOrEmpty(body.Name) ? body.User! : body.Name;
        if (InputRules.CheckUserName(name) is { } badName) return ApiProblems.Problem(badName);
        var roles = (body.Roles ?? []).Distinct(StringComparer.Ordinal).ToArray();
        if (roles.Any(r => !AllowedRoles.Contains(r, StringComparer.Ordinal)))
        {
            return ApiProblems.Problem(new(ErrorCodes.ArgumentInvalid, "roles may list only Admin and Publisher."));
        }
        var lifetime = jwt.Value.TokenLifetime;
        var token = issuer.Issue(body.User!, name, roles, lifetime);
        return TypedResults.Ok(new DevToken(token, body.User!, name, roles, time.GetUtcNow().UtcDateTime + lifetime));
    }
}
