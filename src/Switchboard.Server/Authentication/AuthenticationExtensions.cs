using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;
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
        services.AddSingleton<IUserIdProvider, SubjectUserIdProvider>();

        services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer();
        services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme)
            .Configure<IOptions<JwtOptions>>(static (bearer, jwtOptions) =>
            {
                var jwt = jwtOptions.Value;
                // Keep the JWT's own claim names (sub, name, role) instead of the legacy XML ones.
                bearer.MapInboundClaims = false;
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
                        return Task.CompletedTask;
                    },
                };
            });

        services.AddAuthorizationBuilder()
            .AddPolicy(Policies.Publisher, policy => policy.RequireRole(Roles.Admin, Roles.Publisher));
        return builder;
    }
}
