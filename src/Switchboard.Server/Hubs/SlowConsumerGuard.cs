using System.IO.Pipelines;
using System.Security.Claims;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Switchboard.Contracts;
using Switchboard.Core.Diagnostics;
using Switchboard.Server.Hosting;

namespace Switchboard.Server.Hubs;

/// <summary>
/// Bounds what the server queues for a connection that does not read, and closes such a
/// connection with the reason <c>slow</c>.
/// <para>
/// SignalR writes to a connection under a per-connection lock into a pipe that pauses at
/// 64 KB; behind a client that stopped reading, every further write waits for that lock and
/// the sender (<c>Clients.Group(...).SendAsync</c>, and so the publish path) awaits it. Nothing
/// bounds that queue until the transport gives up a stalled send (10 s), and every publisher
/// to a group with such a member waits with it. So every write of the lifetime manager goes
/// through a <see cref="GuardedConnection"/> that hands the message to the real connection at
/// once, in order, returns without waiting for the transport, and counts the bytes not yet
/// accepted by the transport. When they would pass
/// <c>Switchboard:Limits:MaxOutboundQueueBytes</c>, the connection's later messages are
/// dropped, it is sent SignalR's close message
/// <c>slow: ...</c> with <c>allowReconnect: true</c> (it may come back and recover from
/// history), and it is aborted once that close message was written or
/// <see cref="CloseGrace"/> has passed.
/// </para>
/// <para>
/// The wrapping happens where the lifetime manager is told about a connection, so it works the
/// same for every lifetime manager behind <see cref="RegistryHubLifetimeManager{THub}"/>.
/// Messages SignalR writes itself (invocation results, stream items, pings) do not pass the
/// lifetime manager and are not counted; they are answers to the client's own calls.
/// </para>
/// </summary>
public sealed partial class SlowConsumerGuard(IOptions<SwitchboardOptions> options, SwitchboardMetrics metrics,
    ILogger<SlowConsumerGuard> logger)
{
    /// <summary>How long a slow connection is given to take its close message before it is aborted.</summary>
    public static readonly TimeSpan CloseGrace = TimeSpan.FromSeconds(5);

    private static readonly object ItemKey = new();
    private long _closed;

    /// <summary>Connections closed as slow since the start.</summary>
    public long ClosedCount => Interlocked.Read(ref _closed);

    /// <summary>
    /// The connection the lifetime manager should keep for <paramref name="connection"/>: a
    /// guarded one, or the connection itself when the limit is off. Call once, at connect.
    /// Also arms the client timeout (<see cref="SilentClientTimeout"/>) and, on long polling, the
    /// identity check (<see cref="LongPollingIdentity"/>).
    /// </summary>
    internal HubConnectionContext Wrap(HubConnectionContext connection)
    {
        // Here because this is the one place that sees every connection's context as it is set up.
        SilentClientTimeout.Start(connection);
        LongPollingIdentity.Watch(connection);
        var limit = options.Value.Limits.MaxOutboundQueueBytes;
        if (limit <= 0)
        {
            return connection;
        }
        var guarded = new GuardedConnection(connection, this, limit);
        connection.Items[ItemKey] = guarded;
        return guarded;
    }

    /// <summary>The connection <see cref="Wrap"/> returned for <paramref name="connection"/>, for the lifetime manager's disconnect.</summary>
    internal HubConnectionContext Unwrap(HubConnectionContext connection) =>
        connection.Items.TryGetValue(ItemKey, out var guarded) && guarded is GuardedConnection g ? g : connection;

    private async Task CloseSlowAsync(HubConnectionContext connection, long limit)
    {
        Interlocked.Increment(ref _closed);
        metrics.Refused(CloseReasons.Slow);
        Log.ClosingSlowConsumer(logger, connection.ConnectionId, limit);
        try
        {
            // Queued behind what the client has not read yet: it arrives if the client catches up.
            await connection.WriteAsync(new CloseMessage(
                    $"{CloseReasons.Slow}: The connection did not read its messages fast enough (more than {limit} bytes waiting); reconnect and recover.",
                    allowReconnect: true))
                .AsTask().WaitAsync(CloseGrace);
        }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException or InvalidOperationException)
        {
            // The client did not take it in time; the connection is aborted all the same.
        }
        connection.Abort();
    }

    /// <summary>
    /// The lifetime manager's view of one connection: same id, user, features and items, but
    /// writes are counted and never awaited by the sender. SignalR's own state for the lifetime
    /// manager (the group names it keeps per connection) lives in this object, which is why it
    /// is a <see cref="HubConnectionContext"/> and the lifetime manager must be given the same
    /// instance at connect and disconnect.
    /// </summary>
    private sealed class GuardedConnection : HubConnectionContext
    {
        private static readonly HubConnectionContextOptions DetachedOptions = new()
        {
            KeepAliveInterval = TimeSpan.FromSeconds(15),
            ClientTimeoutInterval = TimeSpan.FromSeconds(30),
            StreamBufferCapacity = 1,
            MaximumParallelInvocations = 1,
        };

        private readonly HubConnectionContext _inner;
        private readonly SlowConsumerGuard _guard;
        private readonly long _limit;
        private long _pendingBytes;
        private int _tripped;

        public GuardedConnection(HubConnectionContext inner, SlowConsumerGuard guard, long limit)
            : base(DetachedConnectionContext.Instance, DetachedOptions, NullLoggerFactory.Instance)
        {
            _inner = inner;
            _guard = guard;
            _limit = limit;
            UserIdentifier = inner.UserIdentifier;
        }

        public override CancellationToken ConnectionAborted => _inner.ConnectionAborted;
        public override string ConnectionId => _inner.ConnectionId;
        public override ClaimsPrincipal User => _inner.User;
        public override IFeatureCollection Features => _inner.Features;
        public override IDictionary<object, object?> Items => _inner.Items;

        public override IHubProtocol Protocol
        {
            get => _inner.Protocol;
            set => _inner.Protocol = value;
        }

        public override void Abort() => _inner.Abort();

        public override ValueTask WriteAsync(HubMessage message, CancellationToken cancellationToken = default) =>
            WriteAsync(new SerializedHubMessage(message), cancellationToken);

        public override ValueTask WriteAsync(SerializedHubMessage message, CancellationToken cancellationToken = default)
        {
            if (Volatile.Read(ref _tripped) != 0 || _inner.ConnectionAborted.IsCancellationRequested)
            {
                return default; // being closed as slow, or gone: nothing more is queued for it
            }
            int size;
            try
            {
                // Serialized once per protocol and cached in the message; the real write reuses it.
                size = message.GetSerializedMessage(_inner.Protocol).Length;
            }
            catch (Exception)
            {
                // The real write fails the same way, logs it and aborts the connection.
                return _inner.WriteAsync(message, cancellationToken);
            }
            var before = Interlocked.Add(ref _pendingBytes, size) - size;
            if (before > 0 && before + size > _limit)
            {
                // An empty queue always takes one message, however large: only a backlog trips.
                Interlocked.Add(ref _pendingBytes, -size);
                if (Interlocked.Exchange(ref _tripped, 1) == 0)
                {
                    _ = _guard.CloseSlowAsync(_inner, _limit);
                }
                return default;
            }
            // Started here, synchronously: SignalR's write lock queues waiters in order, so the
            // order of calls is the order on the wire.
            var write = _inner.WriteAsync(message, cancellationToken);
            if (write.IsCompletedSuccessfully)
            {
                write.GetAwaiter().GetResult();
                Interlocked.Add(ref _pendingBytes, -size);
            }
            else
            {
                _ = CountWhenDone(write, size);
            }
            return default;
        }

        private async Task CountWhenDone(ValueTask write, int size)
        {
            try
            {
                await write;
            }
            catch (Exception)
            {
                // A cancelled wait for the write lock; SignalR handles and logs write failures itself.
            }
            finally
            {
                Interlocked.Add(ref _pendingBytes, -size);
            }
        }
    }

    /// <summary>The transport-less context the guarded connection's base class is built on; never read or written.</summary>
    private sealed class DetachedConnectionContext : ConnectionContext
    {
        public static readonly DetachedConnectionContext Instance = new();

        public override string ConnectionId { get; set; } = "detached";
        public override IFeatureCollection Features { get; } = new FeatureCollection();
        public override IDictionary<object, object?> Items { get; set; } = new Dictionary<object, object?>();
        public override IDuplexPipe Transport { get; set; } = null!;
    }

    private static partial class Log
    {
        [LoggerMessage(1201, LogLevel.Warning,
            "Closing connection {ConnectionId} as slow: more than {Limit} bytes were waiting for it to read.")]
        public static partial void ClosingSlowConsumer(ILogger logger, string connectionId, long limit);
    }
}
