using Microsoft.Extensions.Options;

namespace Switchboard.Server.Hosting;

public static class HostingExtensions
{
    /// <summary>
    /// Listens on <paramref name="url"/> unless an address was configured some other way
    /// (<c>--urls</c>, <c>ASPNETCORE_URLS</c>, <c>Urls</c>, or Kestrel endpoints). A default in
    /// appsettings.json would override <c>ASPNETCORE_URLS</c>, so it lives here.
    /// </summary>
    public static WebApplicationBuilder UseDefaultAddress(this WebApplicationBuilder builder, string url)
    {
        if (string.IsNullOrEmpty(builder.Configuration["urls"]) && !builder.Configuration.GetSection("Kestrel:Endpoints").Exists())
        {
            builder.WebHost.UseUrls(url);
        }
        return builder;
    }

    /// <summary>
    /// Runs the server; when configuration is invalid, prints every failed setting (all sections
    /// at once) and returns exit code 1 instead of crashing with a stack trace.
    /// </summary>
    public static int RunOrExplain(this WebApplication app)
    {
        try
        {
            app.Run();
            return 0;
        }
        catch (Exception e) when (Failures(e) is { Count: > 0 } failures)
        {
            Console.Error.WriteLine("Switchboard cannot start; fix these settings:");
            foreach (var failure in failures)
            {
                Console.Error.WriteLine("  - " + failure);
            }
            return 1;
        }
    }

    private static List<string> Failures(Exception e) => e switch
    {
        OptionsValidationException v => [.. v.Failures],
        AggregateException a => [.. a.InnerExceptions.SelectMany(Failures)],
        _ => [],
    };
}
