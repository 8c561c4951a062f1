using System.Globalization;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using Switchboard.Contracts;

namespace Switchboard.Server.Hosting;

/// <summary>
/// Keeps the number of open TCP connections below what the process can hold. Every connection
/// is a file descriptor; a process that runs out of them fails in places that cannot fail
/// gracefully (the runtime needs descriptors for executable memory, SQLite for its files) and
/// was seen to abort. Kestrel's connection limits refuse the excess connection instead (a
/// WebSocket upgrade past the limit is refused, a plain connection past its limit is closed at
/// once) and everyone already connected is unharmed.
/// </summary>
public static class ConnectionCeiling
{
    /// <summary>Descriptors kept free for everything else: the database, Redis, logs, the runtime.</summary>
    public const int Headroom = 1024;

    public static WebApplicationBuilder AddConnectionCeiling(this WebApplicationBuilder builder)
    {
        // Raw configuration: a bad value is reported with every other setting by start-up
        // validation, rather than thrown from here while Kestrel starts.
        var raw = builder.Configuration[SwitchboardOptions.Section + ":Limits:" + nameof(LimitsOptions.MaxConnections)];
        int? configured = int.TryParse(raw, NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : null;
        var openFiles = OpenFileLimit();
        builder.Services.Configure<KestrelServerOptions>(kestrel =>
        {
            kestrel.Limits.MaxConcurrentUpgradedConnections = Resolve(configured, openFiles);
            kestrel.Limits.MaxConcurrentConnections = PlainConnections(openFiles);
        });
        return builder;
    }

    public static readonly SwitchboardError Full = new(ErrorCodes.Unavailable,
        "This server holds as many connections as it may; retry later or connect to another node.");

    /// <summary>
    /// Past the ceiling Kestrel refuses the upgrade itself (it throws from <c>UpgradeAsync</c>),
    /// which SignalR would answer with an empty 200. Such a request is answered instead with 503
    /// <c>unavailable</c> and Retry-After, which a load balancer can send elsewhere and a client
    /// can retry.
    /// </summary>
    public static WebApplication UseConnectionCeiling(this WebApplication app)
    {
        app.Use(async (context, next) =>
        {
            if (context.Features.Get<IHttpUpgradeFeature>() is not { IsUpgradableRequest: true } upgrade)
            {
                await next(context);
                return;
            }
            var watched = new WatchedUpgrade(upgrade);
            context.Features.Set<IHttpUpgradeFeature>(watched);
            await next(context);
            if (watched.Refused && !context.Response.HasStarted)
            {
                context.Response.Clear();
                context.Response.Headers.RetryAfter = Unavailability.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
                await Api.ApiProblems.Problem(Full, StatusCodes.Status503ServiceUnavailable).ExecuteAsync(context);
            }
        });
        return app;
    }

    /// <summary>Kestrel's upgrade, noting whether it was refused (the only refusal left once the request is upgradable is the limit).</summary>
    private sealed class WatchedUpgrade(IHttpUpgradeFeature inner) : IHttpUpgradeFeature
    {
        public bool Refused { get; private set; }

        public bool IsUpgradableRequest => inner.IsUpgradableRequest;

        public async Task<Stream> UpgradeAsync()
        {
            try
            {
                return await inner.UpgradeAsync();
            }
            catch (InvalidOperationException)
            {
                Refused = true;
                throw;
            }
        }
    }

    /// <summary>
    /// The WebSocket (upgraded) connection limit for a setting and an open-file limit; null means
    /// none. Unset, it is what the descriptors allow after <see cref="Headroom"/> and the share kept
    /// for plain HTTP connections (<see cref="PlainConnections"/>), which Kestrel counts apart.
    /// </summary>
    public static long? Resolve(int? configured, long? openFiles) => configured switch
    {
        0 => null,
        { } explicitLimit => explicitLimit,
        null when openFiles is { } files => Math.Max(Budget(files) - PlainConnections(files)!.Value, 1),
        _ => null,
    };

    /// <summary>Plain HTTP connections at once (API calls, negotiation, Server-Sent Events, long polling): a quarter of the budget, at most 4096.</summary>
    public static long? PlainConnections(long? openFiles) => openFiles is { } files ? Math.Max(Math.Min(Budget(files) / 4, 4096), 1) : null;

    private static long Budget(long files) => files > 2 * Headroom ? files - Headroom : files / 2;

    /// <summary>The soft open-file limit of this process (Linux, from /proc/self/limits), or null when unknown or unlimited.</summary>
    public static long? OpenFileLimit()
    {
        try
        {
            return File.Exists("/proc/self/limits") ? ParseOpenFiles(File.ReadAllText("/proc/self/limits")) : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>Reads the soft limit from the "Max open files" line of a /proc/*/limits text.</summary>
    public static long? ParseOpenFiles(string limits)
    {
        foreach (var line in limits.Split('\n'))
        {
            if (!line.StartsWith("Max open files", StringComparison.Ordinal)) continue;
            var fields = line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return fields.Length > 0 && long.TryParse(fields[0], NumberStyles.None, CultureInfo.InvariantCulture, out var soft) ? soft : null;
        }
        return null;
    }
}
