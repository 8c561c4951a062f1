using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Switchboard.Core.Cluster;
using Switchboard.Core.Diagnostics;
using Switchboard.Core.History;
using Switchboard.Core.Membership;
using Switchboard.Core.Presence;
using Switchboard.Core.Publishing;

namespace Switchboard.Core;

/// <summary>Registers Switchboard's engine in any host: the publish path, history, presence, memberships, cluster commands.</summary>
public static class SwitchboardServiceCollectionExtensions
{
    /// <summary>
    /// The single-process engine: <see cref="GroupPublisher"/> (validate, store, deliver in
    /// order), durable SQLite history (<see cref="HistoryOptions"/> from <c>Switchboard:History</c>),
    /// in-memory presence and user-level memberships, and the local cluster bus. The host
    /// supplies the delivery: an <see cref="IGroupFanout"/> (the Switchboard server's sends to
    /// SignalR groups; an embedding app's may send anywhere). Call
    /// <c>AddSwitchboardRedis(connectionString)</c> (package Switchboard.Redis) afterwards to
    /// share history, presence and memberships between processes.
    /// </summary>
    public static IServiceCollection AddSwitchboard(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddMetrics();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<SwitchboardMetrics>();
        services.AddSqliteHistory();
        services.TryAddSingleton<IPresenceStore, InMemoryPresenceStore>();
        services.TryAddSingleton<IUserGroupStore, InMemoryUserGroupStore>();
        services.TryAddSingleton<IClusterBus, LocalClusterBus>();
        services.TryAddSingleton<GroupPublisher>();
        return services;
    }
}
