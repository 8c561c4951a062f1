using System.Collections.Concurrent;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;

namespace Switchboard.Server.Hubs;

/// <summary>
/// Every open hub connection of this process, by id, so the HTTP API can close one from outside
/// any hub. Closing sends SignalR's close message with a reason and <c>allowReconnect: false</c>,
/// so official clients do not reconnect on their own, and then aborts the connection.
/// </summary>
public sealed class ConnectionRegistry
{
    private readonly ConcurrentDictionary<string, HubConnectionContext> _connections = new(StringComparer.Ordinal);

    public int Count => _connections.Count;

    public bool Contains(string connectionId) => _connections.ContainsKey(connectionId);

    /// <summary>The open connection with this id, as the lifetime manager sees it.</summary>
    internal bool TryGet(string connectionId, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out HubConnectionContext? connection) =>
        _connections.TryGetValue(connectionId, out connection);

    internal void Add(HubConnectionContext connection) => _connections[connection.ConnectionId] = connection;

    internal void Remove(HubConnectionContext connection) =>
        _connections.TryRemove(new KeyValuePair<string, HubConnectionContext>(connection.ConnectionId, connection));

    /// <summary>Closes the connection with <paramref name="reason"/> (a close reason of docs/protocol.md); false when it is not open here.</summary>
    public async Task<bool> CloseAsync(string connectionId, string reason)
    {
        if (!_connections.TryGetValue(connectionId, out var connection))
        {
            return false;
        }
        try
        {
            // Bounded: a client that stopped reading must not hold the caller.
            await connection.WriteAsync(new CloseMessage(reason, allowReconnect: false)).AsTask().WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException or InvalidOperationException)
        {
            // The close message could not be delivered; the connection is aborted all the same.
        }
        connection.Abort();
        return true;
    }
}

/// <summary>The lifetime manager <see cref="RegistryHubLifetimeManager{THub}"/> wraps: an open generic type (the default, or Redis's backplane).</summary>
public sealed record HubLifetimeManagerChoice(Type Inner);

/// <summary>
/// Wraps the hub lifetime manager in use to keep <see cref="ConnectionRegistry"/> current.
/// SignalR exposes a connection's <see cref="HubConnectionContext"/> (needed to send a close
/// message) only to the lifetime manager, so the registry sits here rather than in a hub filter.
/// </summary>
internal sealed class RegistryHubLifetimeManager<THub>(IServiceProvider services, HubLifetimeManagerChoice choice, ConnectionRegistry registry,
    SlowConsumerGuard slowConsumers)
    : HubLifetimeManager<THub> where THub : Hub
{
    private readonly CancellationToken stopping = services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;

    private readonly HubLifetimeManager<THub> inner =
        (HubLifetimeManager<THub>)services.GetRequiredService(choice.Inner.MakeGenericType(typeof(THub)));

    public override async Task OnConnectedAsync(HubConnectionContext connection)
    {
        await inner.OnConnectedAsync(slowConsumers.Wrap(connection));
        registry.Add(connection);
        if (stopping.IsCancellationRequested)
        {
            // Connected after SignalR closed every connection for the shutdown: nobody else would
            // close it, and the process would wait for it (ShutdownGate).
            connection.Abort();
        }
    }

    public override async Task OnDisconnectedAsync(HubConnectionContext connection)
    {
        registry.Remove(connection);
        await inner.OnDisconnectedAsync(slowConsumers.Unwrap(connection));
    }

    public override Task SendAllAsync(string methodName, object?[] args, CancellationToken cancellationToken = default) =>
        inner.SendAllAsync(methodName, args, cancellationToken);

    public override Task SendAllExceptAsync(string methodName, object?[] args, IReadOnlyList<string> excludedConnectionIds, CancellationToken cancellationToken = default) =>
        inner.SendAllExceptAsync(methodName, args, excludedConnectionIds, cancellationToken);

    public override Task SendConnectionAsync(string connectionId, string methodName, object?[] args, CancellationToken cancellationToken = default) =>
        inner.SendConnectionAsync(connectionId, methodName, args, cancellationToken);

    public override Task SendConnectionsAsync(IReadOnlyList<string> connectionIds, string methodName, object?[] args, CancellationToken cancellationToken = default) =>
        inner.SendConnectionsAsync(connectionIds, methodName, args, cancellationToken);

    public override Task SendGroupAsync(string groupName, string methodName, object?[] args, CancellationToken cancellationToken = default) =>
        inner.SendGroupAsync(groupName, methodName, args, cancellationToken);

    public override Task SendGroupsAsync(IReadOnlyList<string> groupNames, string methodName, object?[] args, CancellationToken cancellationToken = default) =>
        inner.SendGroupsAsync(groupNames, methodName, args, cancellationToken);

    public override Task SendGroupExceptAsync(string groupName, string methodName, object?[] args, IReadOnlyList<string> excludedConnectionIds, CancellationToken cancellationToken = default) =>
        inner.SendGroupExceptAsync(groupName, methodName, args, excludedConnectionIds, cancellationToken);

    public override Task SendUserAsync(string userId, string methodName, object?[] args, CancellationToken cancellationToken = default) =>
        inner.SendUserAsync(userId, methodName, args, cancellationToken);

    public override Task SendUsersAsync(IReadOnlyList<string> userIds, string methodName, object?[] args, CancellationToken cancellationToken = default) =>
        inner.SendUsersAsync(userIds, methodName, args, cancellationToken);

    public override Task AddToGroupAsync(string connectionId, string groupName, CancellationToken cancellationToken = default) =>
        inner.AddToGroupAsync(connectionId, groupName, cancellationToken);

    public override Task RemoveFromGroupAsync(string connectionId, string groupName, CancellationToken cancellationToken = default) =>
        inner.RemoveFromGroupAsync(connectionId, groupName, cancellationToken);

    public override Task<T> InvokeConnectionAsync<T>(string connectionId, string methodName, object?[] args, CancellationToken cancellationToken) =>
        inner.InvokeConnectionAsync<T>(connectionId, methodName, args, cancellationToken);

    public override Task SetConnectionResultAsync(string connectionId, CompletionMessage result) =>
        inner.SetConnectionResultAsync(connectionId, result);

    public override bool TryGetReturnType(string invocationId, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Type? type) =>
        inner.TryGetReturnType(invocationId, out type);
}
