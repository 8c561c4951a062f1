namespace Switchboard.Server.Api;

public static class ApiExtensions
{
    public static WebApplicationBuilder AddSwitchboardApi(this WebApplicationBuilder builder)
    {
        builder.Services.AddProblemDetails();
        return builder;
    }

    public static WebApplication MapSwitchboardApi(this WebApplication app)
    {
        app.MapNotificationsApi();
        app.MapPresenceApi();
        app.MapGroupsApi();
        app.MapConnectionsApi();
        app.MapStatsApi();
        return app;
    }
}
