using System.Globalization;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;

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
