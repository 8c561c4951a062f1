namespace Switchboard.Server.Api;

public static class ApiExtensions
{
    private const string BearerScheme = "Bearer";

    /// <summary>Where the browsable reference of the HTTP API is served.</summary>
    public const string ReferencePath = "docs/api";

    public static WebApplicationBuilder AddSwitchboardApi(this WebApplicationBuilder builder)
    {
        builder.Services.AddProblemDetails();
        builder.Services.AddExceptionHandler<Hosting.UnavailableExceptionHandler>();
        builder.Services.AddApiRateLimiting();
        builder.Services.AddOpenApi(options => options.AddDocumentTransformer((document, _, _) =>
        {
            document.Info.Title = "Switchboard HTTP API";
            document.Info.Description = "Publish to users, groups and everyone; page history; presence; membership; connections. " +
                "Every route needs a bearer token with role Admin or Publisher.";
            // Lets the reference page send requests with a token ("Authorize").
            document.Components ??= new Microsoft.OpenApi.OpenApiComponents();
            document.Components.SecuritySchemes ??= new Dictionary<string, Microsoft.OpenApi.IOpenApiSecurityScheme>();
            document.Components.SecuritySchemes[BearerScheme] = new Microsoft.OpenApi.OpenApiSecurityScheme
            {
                Type = Microsoft.OpenApi.SecuritySchemeType.Http,
                Scheme = "bearer",
                BearerFormat = "JWT",
                Description = "A token with role Admin or Publisher (the server's `token` command mints one).",
            };
            document.Security ??= [];
            document.Security.Add(new Microsoft.OpenApi.OpenApiSecurityRequirement
            {
                [new Microsoft.OpenApi.OpenApiSecuritySchemeReference(BearerScheme, document)] = [],
            });
            return Task.CompletedTask;
        }));
        return builder;
    }

    public static WebApplication MapSwitchboardApi(this WebApplication app)
    {
        // The OpenAPI document (GET /openapi/v1.json) describes the routes; it is public, as it holds no data.
        app.MapOpenApi();
        // A browsable reference of that document (Swagger UI, served from the assembly: no CDN), at /docs/api.
        app.UseSwaggerUI(options =>
        {
            options.RoutePrefix = ReferencePath;
            options.SwaggerEndpoint("/openapi/v1.json", "Switchboard HTTP API");
            options.DocumentTitle = "Switchboard HTTP API";
        });
        app.MapNotificationsApi();
        app.MapPresenceApi();
        app.MapGroupsApi();
        app.MapConnectionsApi();
        app.MapStatsApi();
        return app;
    }
}
