using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Extensions.FileProviders;

namespace Switchboard.Server.Web;

/// <summary>
/// The web app: its files at <c>/</c>, <c>GET /app-config.json</c>, the admin page's read routes
/// and, in Development only, <c>POST /dev/token</c>. The files are built from <c>web/</c> by the
/// server's project file and embedded in the assembly, so the app is there however the server is
/// started (<c>dotnet run</c>, the published DLL, or a test host) and nothing depends on the
/// working directory.
/// </summary>
public static class WebExtensions
{
    /// <summary>Resource names of the embedded files start with this (see Switchboard.Server.csproj).</summary>
    internal const string ResourcePrefix = "Switchboard.Server.WebApp";

    /// <summary>
    /// Same-origin everything: scripts and styles only from the server's own files (no inline
    /// script, so an injected message could not run even if it became markup), connections only
    /// back to this origin (the hubs and the HTTP API), no framing.
    /// </summary>
    internal const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    public static WebApplicationBuilder AddSwitchboardWeb(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<ConnectionCatalog>();
        builder.Services.AddSingleton<ConnectionCatalogFilter>();
        builder.Services.Configure<HubOptions>(options => options.AddFilter<ConnectionCatalogFilter>());
        return builder;
    }

    public static WebApplication MapSwitchboardWeb(this WebApplication app)
    {
        var files = new EmbeddedFileProvider(typeof(WebExtensions).Assembly, ResourcePrefix);
        app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = files, DefaultFileNames = ["index.html"] });
        app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = files,
            ContentTypeProvider = new FileExtensionContentTypeProvider(),
            OnPrepareResponse = context =>
            {
                var headers = context.Context.Response.Headers;
                headers.ContentSecurityPolicy = ContentSecurityPolicy;
                headers.XContentTypeOptions = "nosniff";
                headers["Referrer-Policy"] = "no-referrer";
                // File names do not change between builds: revalidate (ETag) instead of caching blindly.
                headers.CacheControl = "no-cache";
            },
        });

        var devSignIn = DevSignIn.IsAvailable(app);
        app.MapGet("/app-config.json", () => TypedResults.Ok(new AppConfig(devSignIn)))
            .AllowAnonymous()
            .ExcludeFromDescription();
        if (devSignIn)
        {
            app.MapDevSignIn();
        }
        app.MapAdminApi();
        return app;
    }

    /// <summary>What the page needs to know before sign-in: <c>{ devSignIn }</c>.</summary>
    public sealed record AppConfig(bool DevSignIn);
}
