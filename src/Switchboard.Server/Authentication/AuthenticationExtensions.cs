using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Switchboard.Contracts;

namespace Switchboard.Server.Authentication;

public static class AuthenticationExtensions
{
    /// <summary>JWT bearer authentication as in the guide, made strict; the Publisher policy; user ids from <c>sub</c>.</summary>
    public static WebApplicationBuilder AddSwitchboardAuthentication(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<JwtOptions>().BindConfiguration(JwtOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<JwtOptions>, JwtOptionsValidator>();
        services.AddSingleton<TokenIssuer>();
        services.AddSingleton<ValidatedTokens>();
        services.AddSingleton<IUserIdProvider, SubjectUserIdProvider>();

        services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer();
        services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme)
            .Configure<IOptions<JwtOptions>, ValidatedTokens>(static (bearer, jwtOptions, validated) =>
            {
                var jwt = jwtOptions.Value;
                // Keep the JWT's own claim names (sub, name, role) instead of the legacy XML ones.
                bearer.MapInboundClaims = false;
                // A hub connection keeps its authentication result for its whole life: keeping the
                // raw token in it too would cost every connection the token's size, for nothing.
                bearer.SaveToken = false;
                bearer.TokenValidationParameters = new TokenValidationParameters
                {
                    ValidateIssuer = true,
                    ValidateAudience = true,
                    ValidateLifetime = true,
                    ValidateIssuerSigningKey = true,
                    RequireExpirationTime = true,
                    RequireSignedTokens = true,
                    ValidIssuer = jwt.Issuer,
                    ValidAudience = jwt.Audience,
                    IssuerSigningKey = new SymmetricSecurityKey(jwt.KeyBytes()),
                    // Only the algorithm we sign with: no 'none', no RSA/HMAC confusion.
                    ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
                    ClockSkew = jwt.ClockSkew,
                    NameClaimType = SwitchboardClaims.Name,
                    RoleClaimType = SwitchboardClaims.Role,
                };
                bearer.Events = new JwtBearerEvents
                {
                    OnTokenValidated = context =>
                    {
                        // Every Switchboard identity is its 'sub'; a token without a usable one
                        // could connect but never be tracked, addressed or disconnected.
                        if (Core.Validation.InputRules.CheckUserId(context.Principal.UserId()) is not null)
                        {
                            context.Fail("The token's 'sub' claim is missing or is not a valid user id.");
                            return Task.CompletedTask;
                        }
                        context.Principal = SwitchboardClaims.Slim(context.Principal!, context.Scheme.Name);
                        if (context.SecurityToken is JsonWebToken { EncodedToken: { } token } && context.Properties.ExpiresUtc is { } expires)
                        {
                            validated.Add(token, context.Principal, expires);
                        }
                        return Task.CompletedTask;
                    },
                    OnChallenge = async context =>
                    {
                        context.HandleResponse();
                        await WriteProblemAsync(context.Response, StatusCodes.Status401Unauthorized, new(ErrorCodes.Unauthenticated,
                            "A valid bearer token is required."), challenge: true);
                    },
                    OnForbidden = context => WriteProblemAsync(context.Response, StatusCodes.Status403Forbidden,
                        new(ErrorCodes.PermissionDenied, "The token does not carry a role this operation needs."), challenge: false),
                    OnMessageReceived = context =>
                    {
                        // Browsers cannot set headers on WebSocket and EventSource requests, so
                        // SignalR clients send the token in the query string. Accept it there for
                        // hub paths only; everything else must use the Authorization header.
                        var accessToken = context.Request.Query["access_token"];
                        if (!string.IsNullOrEmpty(accessToken) &&
                            context.HttpContext.Request.Path.StartsWithSegments(HubRoutes.Prefix))
                        {
                            context.Token = accessToken;
                        }
                        else if (context.Request.Headers.Authorization.ToString() is var header &&
                            header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
                        {
                            // As JwtBearer reads it; read here so a token validated before is found.
                            context.Token = header["Bearer ".Length..].Trim();
                        }
                        // A token that passed full validation before and has not expired: the
                        // same answer without validating it again (ValidatedTokens).
                        if (!string.IsNullOrEmpty(context.Token) &&
                            validated.TryGet(context.Token, context.Scheme.Name, out var principal, out var expires))
                        {
                            context.Principal = principal;
                            context.Properties.ExpiresUtc = expires; // what CloseOnAuthenticationExpiration reads
                            context.Success();
                        }
                        return Task.CompletedTask;
                    },
                };
            });

        services.AddAuthorizationBuilder()
            .AddPolicy(Policies.Publisher, policy => policy.RequireRole(Roles.Admin, Roles.Publisher))
            .AddPolicy(Policies.SignedIn, policy => policy.RequireAuthenticatedUser())
            // For hubs opened to anonymous users: no token is fine, a bad token is still refused.
            .AddPolicy(Policies.AnonymousOrValidToken, policy => policy.RequireAssertion(context =>
                context.User.Identity?.IsAuthenticated == true ||
                (context.Resource is HttpContext http && !PresentsToken(http.Request))));
        return builder;
    }

    private static bool PresentsToken(HttpRequest request) =>
        request.Headers.Authorization.Count > 0 || request.Query.ContainsKey("access_token");

    private static Task WriteProblemAsync(HttpResponse response, int status, SwitchboardError error, bool challenge)
    {
        response.StatusCode = status;
        if (challenge)
        {
            response.Headers.WWWAuthenticate = "Bearer";
        }
        return response.WriteAsJsonAsync(new Microsoft.AspNetCore.Mvc.ProblemDetails
        {
            Status = status,
            Title = error.Code,
            Detail = error.Message,
            Type = $"urn:switchboard:error:{error.Code}",
            Extensions = { ["code"] = error.Code },
        }, options: (System.Text.Json.JsonSerializerOptions?)null, contentType: "application/problem+json");
    }
}
