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
    /// Validates every settings section now, before anything reads one, and prints every failure
    /// at once (rather than the first section to be touched). Returns false when the server must not start.
    /// </summary>
    public static bool SettingsAreValid(this WebApplication app)
    {
        var failures = new List<string>();
        Check<Authentication.JwtOptions>(app.Services, failures);
        Check<SignalRSettings>(app.Services, failures);
        Check<SwitchboardOptions>(app.Services, failures);
        Check<Core.History.HistoryOptions>(app.Services, failures);
        if (ScaleOut.IsConfigured(app.Configuration))
        {
            CheckRedis(app.Services, failures);
        }
        if (failures.Count == 0)
        {
            return true;
        }
        Console.Error.WriteLine("Switchboard cannot start; fix these settings:");
        foreach (var failure in failures)
        {
            Console.Error.WriteLine("  - " + failure);
        }
        return false;
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static void CheckRedis(IServiceProvider services, List<string> failures) => Check<Redis.RedisOptions>(services, failures);

    private static void Check<T>(IServiceProvider services, List<string> failures) where T : class
    {
        try
        {
            _ = services.GetRequiredService<IOptions<T>>().Value;
        }
        catch (OptionsValidationException e)
        {
            failures.AddRange(e.Failures);
        }
        catch (InvalidOperationException e)
        {
            // The configuration binder could not convert a value ("Failed to convert configuration
            // value 'fast' at 'SignalR:KeepAliveInterval' to type 'System.TimeSpan'."): reported
            // with every other failure, rather than crashing the process with a stack trace.
            failures.Add(e.Message);
        }
    }
}
