using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Switchboard.Core.Cluster;
using Switchboard.Core.History;
using Switchboard.Core.Membership;
using Switchboard.Core.Presence;

namespace Switchboard.Redis;

/// <summary>Switches Switchboard's shared state to Redis.</summary>
public static class RedisServiceCollectionExtensions
{
    /// <summary>
    /// Binds <see cref="RedisOptions"/> and replaces the single-process history (when history is
    /// enabled), presence, user-group and cluster-bus services with their Redis implementations.
    /// Call after the single-process services were registered.
    /// </summary>
    public static IServiceCollection AddSwitchboardRedis(this IServiceCollection services, string connectionString)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        services.AddOptions<RedisOptions>().BindConfiguration(RedisOptions.Section).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RedisOptions>, RedisOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(new RedisConnectionString(connectionString));
        services.AddSingleton<RedisConnection>();
        services.Replace(ServiceDescriptor.Singleton<IHistoryStore>(sp => sp.GetRequiredService<IOptions<HistoryOptions>>().Value.Enabled
            ? ActivatorUtilities.CreateInstance<RedisHistoryStore>(sp)
            : new DisabledHistoryStore()));
        services.AddSingleton<RedisPresenceStore>();
        services.Replace(ServiceDescriptor.Singleton<IPresenceStore>(sp => sp.GetRequiredService<RedisPresenceStore>()));
        services.Replace(ServiceDescriptor.Singleton<IUserGroupStore, RedisUserGroupStore>());
        services.Replace(ServiceDescriptor.Singleton<IClusterBus, RedisClusterBus>());
        return services;
    }
}

/// <summary>Start-up checks of <see cref="RedisOptions"/>; each message names the setting.</summary>
internal sealed class RedisOptionsValidator : IValidateOptions<RedisOptions>
{
    private const string Prefix = RedisOptions.Section + ":";

    public ValidateOptionsResult Validate(string? name, RedisOptions o)
    {
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(o.ChannelPrefix) || o.ChannelPrefix.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
            failures.Add(Prefix + "ChannelPrefix must be a non-empty name without spaces.");
        if (o.HeartbeatInterval < TimeSpan.FromMilliseconds(100) || o.HeartbeatInterval > TimeSpan.FromMinutes(1))
            failures.Add(Prefix + "HeartbeatInterval must be between 00:00:00.100 and 00:01:00.");
        if (o.ProcessTimeout < 2 * o.HeartbeatInterval)
            failures.Add(Prefix + "ProcessTimeout must be at least twice HeartbeatInterval.");
        if (o.CommandTimeout < TimeSpan.FromMilliseconds(100) || o.CommandTimeout > TimeSpan.FromMinutes(1))
            failures.Add(Prefix + "CommandTimeout must be between 00:00:00.100 and 00:01:00.");
        if (o.AnswerTimeout < TimeSpan.FromMilliseconds(100) || o.AnswerTimeout > TimeSpan.FromMinutes(1))
            failures.Add(Prefix + "AnswerTimeout must be between 00:00:00.100 and 00:01:00.");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
