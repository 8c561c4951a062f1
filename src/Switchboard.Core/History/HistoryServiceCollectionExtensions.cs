using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Switchboard.Core.History;

/// <summary>Registers the embedded durable history store.</summary>
public static class HistoryServiceCollectionExtensions
{
    /// <summary>
    /// Binds <see cref="HistoryOptions"/> from <see cref="HistoryOptions.Section"/> (validated at
    /// start-up) and registers <see cref="SqliteHistoryStore"/> as the singleton
    /// <see cref="IHistoryStore"/>. No hosted service: the store opens its file and starts its
    /// writer and retention loops in its constructor, and the container disposes it (stopping the
    /// loops and flushing pending appends) when the host shuts down.
    /// </summary>
    public static IServiceCollection AddSqliteHistory(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions<HistoryOptions>().BindConfiguration(HistoryOptions.Section).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<HistoryOptions>, HistoryOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IHistoryStore>(sp => sp.GetRequiredService<IOptions<HistoryOptions>>().Value.Enabled
            ? ActivatorUtilities.CreateInstance<SqliteHistoryStore>(sp)
            : new DisabledHistoryStore());
        return services;
    }
}

/// <summary>Start-up checks of <see cref="HistoryOptions"/>; each message names the setting.</summary>
internal sealed class HistoryOptionsValidator : IValidateOptions<HistoryOptions>
{
    private const string Prefix = HistoryOptions.Section + ":";

    public ValidateOptionsResult Validate(string? name, HistoryOptions o)
    {
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(o.DataFolder))
            failures.Add(Prefix + "DataFolder must name a folder.");
        if (string.IsNullOrWhiteSpace(o.FileName) || o.FileName.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0)
            failures.Add(Prefix + "FileName must be a plain file name, without folders.");
        if (o.MaxMessagesPerGroup < 1)
            failures.Add(Prefix + "MaxMessagesPerGroup must be at least 1.");
        if (o.MaxAge <= TimeSpan.Zero)
            failures.Add(Prefix + "MaxAge must be positive.");
        // PeriodicTimer rejects periods beyond ~49 days; retention rarer than daily is not useful anyway.
        if (o.TrimInterval < TimeSpan.FromMilliseconds(10) || o.TrimInterval > TimeSpan.FromDays(1))
            failures.Add(Prefix + "TrimInterval must be between 00:00:00.010 and 1.00:00:00.");
        if (o.IdempotencyWindow < TimeSpan.Zero)
            failures.Add(Prefix + "IdempotencyWindow must not be negative (00:00:00 turns idempotency off).");
        if (o.MaxBatchSize is < 1 or > 100_000)
            failures.Add(Prefix + "MaxBatchSize must be between 1 and 100000.");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
