using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.SignalR;
using Switchboard.Contracts;
using Switchboard.Core.Diagnostics;
using Switchboard.Server.Authentication;
using Switchboard.Server.Hubs;

namespace Switchboard.Server.Web;

/// <summary>One open hub connection of this process, as the admin page lists it.</summary>
public sealed record ConnectionInfo(string ConnectionId, string Hub, string? UserId, string? Name, DateTime ConnectedAt);

/// <summary>
/// What the admin page shows that the rest of the server does not keep: the open connections of
/// this process with their hub, user and start time, and running totals of messages published
/// and hub methods invoked, from which the page computes rates. Per process, like
/// <c>GET /api/stats</c>.
/// </summary>
public sealed class ConnectionCatalog : IDisposable
{
    private static readonly Dictionary<Type, string> HubNames = new()
    {
        [typeof(ChatHub)] = HubRoutes.Chat,
        [typeof(NotificationHub)] = HubRoutes.Notifications,
        [typeof(SecureChatHub)] = HubRoutes.SecureChat,
        [typeof(TypedChatHub)] = HubRoutes.TypedChat,
        [typeof(StreamingHub)] = HubRoutes.Streaming,
        [typeof(UploadHub)] = HubRoutes.Upload,
        [typeof(RobustHub)] = HubRoutes.Robust,
    };

    private readonly ConcurrentDictionary<string, ConnectionInfo> _connections = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;
    private readonly MeterListener _listener = new();
    private long _groupMessages;
    private long _privateMessages;
    private long _invocations;

    public ConnectionCatalog(TimeProvider time, IMeterFactory meterFactory)
    {
        _time = time;
        // Read the published-messages counter in process rather than count a second time. Only
        // this server's meter (created by its own meter factory): a test process may host several.
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == SwitchboardMetrics.MeterName && instrument.Meter.Scope == meterFactory &&
                instrument.Name == "switchboard.messages.published")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "kind")
                {
                    if (tag.Value as string == "private") Interlocked.Add(ref _privateMessages, value);
                    else Interlocked.Add(ref _groupMessages, value);
                    return;
                }
            }
        });
        _listener.Start();
    }

    public IReadOnlyList<ConnectionInfo> Connections =>
        _connections.Values.OrderBy(c => c.ConnectedAt).ThenBy(c => c.ConnectionId, StringComparer.Ordinal).ToList();

    /// <summary>Group and private messages published, and hub methods invoked, since the server started.</summary>
    public (long GroupMessages, long PrivateMessages, long Invocations) Totals =>
        (Interlocked.Read(ref _groupMessages), Interlocked.Read(ref _privateMessages), Interlocked.Read(ref _invocations));

    internal void Connected(HubCallerContext context, Hub hub) =>
        _connections[context.ConnectionId] = new ConnectionInfo(context.ConnectionId,
            HubNames.GetValueOrDefault(hub.GetType(), hub.GetType().Name), context.User.UserId(), context.User.DisplayName(),
            _time.GetUtcNow().UtcDateTime);

    internal void Disconnected(HubCallerContext context) => _connections.TryRemove(context.ConnectionId, out _);

    internal void Invoked() => Interlocked.Increment(ref _invocations);

    public void Dispose() => _listener.Dispose();
}

/// <summary>Keeps <see cref="ConnectionCatalog"/> current for every hub: connections in and out, invocations counted.</summary>
internal sealed class ConnectionCatalogFilter(ConnectionCatalog catalog) : IHubFilter
{
    public async Task OnConnectedAsync(HubLifetimeContext context, Func<HubLifetimeContext, Task> next)
    {
        // Listed only once connected: SignalR does not call OnDisconnectedAsync when this fails.
        await next(context);
        catalog.Connected(context.Context, context.Hub);
    }

    public async Task OnDisconnectedAsync(HubLifetimeContext context, Exception? exception, Func<HubLifetimeContext, Exception?, Task> next)
    {
        catalog.Disconnected(context.Context);
        await next(context, exception);
    }

    public ValueTask<object?> InvokeMethodAsync(HubInvocationContext invocationContext, Func<HubInvocationContext, ValueTask<object?>> next)
    {
        catalog.Invoked();
        return next(invocationContext);
    }
}
