using System.Reflection;
using Microsoft.AspNetCore.SignalR;

namespace Switchboard.Server.Hubs;

/// <summary>
/// Starts SignalR's client timeout (<c>SignalR:ClientTimeoutInterval</c>) when a connection is
/// set up instead of at its first ping.
/// <para>
/// SignalR arms the timeout only once a client has sent a ping, to spare clients too old to
/// send any. A client that completes the handshake and then never says a word is therefore
/// never dropped: a raw socket can hold a connection, its groups and any upload it started for
/// as long as it keeps TCP open. Every SignalR client of the last years pings when it has sent
/// nothing for its keep-alive interval (15 s, half the server's timeout), so arming the timeout
/// at once changes nothing for them. SignalR has no public switch for this; the internal method
/// is looked up once, and if a future SignalR renames it, connections fall back to SignalR's
/// own behaviour (and the hostile test suite notices).
/// </para>
/// </summary>
internal static class SilentClientTimeout
{
    private static readonly MethodInfo? StartClientTimeout =
        typeof(HubConnectionContext).GetMethod("StartClientTimeout", BindingFlags.Instance | BindingFlags.NonPublic, Type.EmptyTypes);

    public static void Start(HubConnectionContext connection) => StartClientTimeout?.Invoke(connection, null);
}
