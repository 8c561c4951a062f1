using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using StackExchange.Redis;
using Switchboard.Redis;
using Switchboard.Server.Hubs;

namespace Switchboard.Server.Hosting;

/// <summary>
/// Scale-out: with <c>ConnectionStrings:Redis</c> set (as in the guide), the SignalR Redis
/// backplane carries fan-out across processes, and history, presence, user-level groups and
/// cluster commands move to Redis. Without it nothing about Redis is loaded.
/// </summary>
public static class ScaleOut
{
    public const string ConnectionStringName = "Redis";

    public static bool IsConfigured(IConfiguration configuration) =>
        !string.IsNullOrWhiteSpace(configuration.GetConnectionString(ConnectionStringName));

    public static WebApplicationBuilder AddSwitchboardScaleOut(this WebApplicationBuilder builder)
    {
        var connectionString = builder.Configuration.GetConnectionString(ConnectionStringName);
        if (!string.IsNullOrWhiteSpace(connectionString))
        {
            UseRedis(builder, connectionString);
        }
        return builder;
    }

    // Kept out of line so the Redis assemblies load only when this runs.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void UseRedis(WebApplicationBuilder builder, string connectionString)
    {
        var services = builder.Services;
        services.AddSwitchboardRedis(connectionString);
        Switchboard.Redis.RedisOptions settings;
        try
        {
            settings = builder.Configuration.GetSection(Switchboard.Redis.RedisOptions.Section).Get<Switchboard.Redis.RedisOptions>()
                ?? new Switchboard.Redis.RedisOptions();
        }
        catch (InvalidOperationException)
        {
            // A value that cannot be converted: start-up validation reports it with every other
            // setting and the server does not start, so these defaults are never used.
            settings = new Switchboard.Redis.RedisOptions();
        }
        services.AddSignalR().AddStackExchangeRedis(options =>
        {
            // The guide's setup (ChannelPrefix), with Switchboard's fail-fast, self-healing connection settings.
            options.Configuration = RedisConnection.Configure(connectionString, settings);
            options.Configuration.ChannelPrefix = RedisChannel.Literal(settings.ChannelPrefix);
            options.Configuration.ClientName = "switchboard-backplane";
        });
        // The connections themselves are opened by the watch (those settings, a name each), which
        // makes them subscribe again when a reconnect lost some of their subscriptions.
        services.AddSingleton<BackplaneWatch>();
        services.AddHostedService(sp => sp.GetRequiredService<BackplaneWatch>());
        services.AddOptions<Microsoft.AspNetCore.SignalR.StackExchangeRedis.RedisOptions>()
            .Configure<BackplaneWatch>((options, watch) => options.ConnectionFactory = log => watch.ConnectAsync(options.Configuration, log));
        // AddStackExchangeRedis registers its own lifetime manager; keep the registry around it.
        services.AddSingleton(new HubLifetimeManagerChoice(typeof(Microsoft.AspNetCore.SignalR.StackExchangeRedis.RedisHubLifetimeManager<>)));
        services.TryAddSingleton(typeof(Microsoft.AspNetCore.SignalR.StackExchangeRedis.RedisHubLifetimeManager<>));
        services.Replace(ServiceDescriptor.Singleton(typeof(HubLifetimeManager<>), typeof(RegistryHubLifetimeManager<>)));

        // Users of a dead process, swept from presence here, are announced as a disconnect would be.
        services.AddHostedService<SweptPresenceAnnouncer>();

        // Redis away: the process keeps serving its connections, so it reports degraded, not down.
        services.AddHealthChecks().AddCheck<RedisHealthCheck>("redis", HealthStatus.Degraded, ["ready"]);
        services.Configure<HealthCheckServiceOptions>(options =>
        {
            foreach (var registration in options.Registrations.Where(r => r.Name == HealthExtensions.HistoryCheck))
            {
                registration.FailureStatus = HealthStatus.Degraded;
            }
        });
    }

    private sealed class SweptPresenceAnnouncer(RedisPresenceStore presence, ChatMembership membership) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            presence.DeadProcessSwept += membership.AnnounceLeftAsync;
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken)
        {
            presence.DeadProcessSwept -= membership.AnnounceLeftAsync;
            return Task.CompletedTask;
        }
    }

    private sealed class RedisHealthCheck(RedisConnection redis) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                var database = await redis.DatabaseAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(5), cancellationToken);
                await database.PingAsync().WaitAsync(TimeSpan.FromSeconds(5), cancellationToken);
                return HealthCheckResult.Healthy();
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                return new HealthCheckResult(context.Registration.FailureStatus, "Redis does not answer: publishing is refused until it returns.");
            }
        }
    }
}
