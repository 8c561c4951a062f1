namespace Switchboard.Server.Api;

public static class ApiExtensions
{
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
            return Task.CompletedTask;
        }));
        return builder;
    }

    public static WebApplication MapSwitchboardApi(this WebApplication app)
    {
        // The OpenAPI document (GET /openapi/v1.json) describes the routes; it is public, as it holds no data.
        app.MapOpenApi();
        app.MapNotificationsApi();
        app.MapPresenceApi();
        app.MapGroupsApi();
        app.MapConnectionsApi();
        app.MapStatsApi();
        return app;
    }
}
