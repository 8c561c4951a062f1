using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Switchboard.Contracts;
using Switchboard.Core;
using Switchboard.Core.Cluster;
using Switchboard.Core.Connections;
using Switchboard.Core.History;
using Switchboard.Core.Publishing;
using Switchboard.Core.Presence;
using Switchboard.Core.Membership;
using Switchboard.Core.Streaming;
using Switchboard.Server.Authentication;
using Switchboard.Server.Hosting;

namespace Switchboard.Server.Hubs;

/// <summary>Registers and maps the seven hubs of the guide with its options, JSON and MessagePack.</summary>
public static class SwitchboardHubs
{
    public const string SecureChatName = "secure-chat";

    /// <summary>Hub names that <c>Switchboard:AllowAnonymousHubs</c> may open.</summary>
    public static readonly IReadOnlySet<string> OpenableNames = new HashSet<string>(StringComparer.Ordinal)
    {
        "chat", "notifications", "typed-chat", "streaming", "upload", "robust",
    };

    public static WebApplicationBuilder AddSwitchboardHubs(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<SignalRSettings>().BindConfiguration(SignalRSettings.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<SignalRSettings>, SignalRSettingsValidator>();
        services.AddOptions<SwitchboardOptions>().BindConfiguration(SwitchboardOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<SwitchboardOptions>, SwitchboardOptionsValidator>();

        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<IConnectionTracker, InMemoryConnectionTracker>();
        services.AddSingleton<IPriceSource, RandomWalkPriceSource>();
        services.AddSingleton<ActiveStreams>();
        services.AddSingleton<NotificationService>();

        // The engine (publish path, history, presence, memberships, cluster bus), as any host embeds it.
        services.AddSwitchboard();
        services.AddHostedService<ClusterCommandHandler>();
        services.AddSingleton<GroupQuota>();
        services.AddSingleton<ChatMembership>();
        services.AddSingleton<Webhooks.WebhookQueue>();
        services.AddHostedService<Webhooks.WebhookSender>();
        services.AddSingleton<IGroupFanout, ChatGroupFanout>();

        services.AddSignalR(options =>
            {
                options.AddFilter<RateLimitFilter>();
                options.AddFilter<SwitchboardErrorFilter>();
                options.AddFilter<ConnectionTrackingFilter>();
            })
            .AddJsonProtocol()
            .AddMessagePackProtocol();
        // The same protocols, closing on an unknown message type instead of wedging (registered last, so they win).
        services.AddSingleton<IHubProtocol>(sp => new StrictHubProtocol(new JsonHubProtocol(sp.GetRequiredService<IOptions<JsonHubProtocolOptions>>())));
        services.AddSingleton<IHubProtocol>(sp => new StrictHubProtocol(new MessagePackHubProtocol(sp.GetRequiredService<IOptions<MessagePackHubProtocolOptions>>())));

        // Keep a registry of open connections (for closing them from the HTTP API) around the
        // default lifetime manager.
        services.AddSingleton<ConnectionRegistry>();
        services.AddSingleton<ClusterReplies>();
        services.AddSingleton<SlowConsumerGuard>();
        services.TryAddSingleton(typeof(DefaultHubLifetimeManager<>));
        services.TryAddSingleton(new HubLifetimeManagerChoice(typeof(DefaultHubLifetimeManager<>)));
        services.Replace(ServiceDescriptor.Singleton(typeof(HubLifetimeManager<>), typeof(RegistryHubLifetimeManager<>)));

        var isDevelopment = builder.Environment.IsDevelopment();
        services.AddOptions<HubOptions>().Configure<IOptions<SignalRSettings>>((hub, settings) =>
        {
            var s = settings.Value;
            hub.EnableDetailedErrors = s.EnableDetailedErrors ?? isDevelopment;
            hub.MaximumReceiveMessageSize = s.MaximumReceiveMessageSize;
            hub.StreamBufferCapacity = s.StreamBufferCapacity;
            hub.KeepAliveInterval = s.KeepAliveInterval;
            hub.ClientTimeoutInterval = s.ClientTimeoutInterval;
            hub.HandshakeTimeout = s.HandshakeTimeout;
            hub.MaximumParallelInvocationsPerClient = s.MaximumParallelInvocationsPerClient;
        });
        return builder;
    }

    public static WebApplication MapSwitchboardHubs(this WebApplication app)
    {
        // Read raw here: the options are validated (all sections together) when the host starts.
        var open = app.Configuration.GetSection(SwitchboardOptions.Section + ":" + nameof(SwitchboardOptions.AllowAnonymousHubs))
            .Get<List<string>>() ?? [];
        Map<ChatHub>(app, HubRoutes.Chat, open);
        Map<NotificationHub>(app, HubRoutes.Notifications, open);
        Map<SecureChatHub>(app, HubRoutes.SecureChat, open);
        Map<TypedChatHub>(app, HubRoutes.TypedChat, open);
        Map<StreamingHub>(app, HubRoutes.Streaming, open);
        Map<UploadHub>(app, HubRoutes.Upload, open);
        Map<RobustHub>(app, HubRoutes.Robust, open);
        return app;
    }

    private static void Map<THub>(WebApplication app, string path, List<string> open) where THub : Hub
    {
        // A connection whose token expires is closed, rather than living on until it drops.
        var endpoint = app.MapHub<THub>(path, options => options.CloseOnAuthenticationExpiration = true);
        var name = path[(HubRoutes.Prefix.Length + 1)..];
        endpoint.RequireAuthorization(name != SecureChatName && open.Contains(name) ? Policies.AnonymousOrValidToken : Policies.SignedIn);
    }
}
