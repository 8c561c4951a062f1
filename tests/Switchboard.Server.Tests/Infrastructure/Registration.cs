using Microsoft.AspNetCore.SignalR.Client;
using Switchboard.Core.Connections;

namespace Switchboard.Server.Tests.Infrastructure;

/// <summary>
/// A client's <c>StartAsync</c> completes when the handshake is answered, which is before the
/// server adds the connection to its lifetime manager (<c>Clients.All</c>, <c>Clients.User</c>)
/// and runs the hub's <c>OnConnectedAsync</c>. A message another connection (or the HTTP API)
/// sends in that gap does not reach the new client. Tests that send to a client from elsewhere
/// wait first until the server tracks it; the tracking hub filter runs after the lifetime
/// manager registered the connection.
/// </summary>
public static class Registration
{
    public static Task UntilRegistered(this IConnectionTracker tracker, string userId, params HubConnection[] connections) =>
        TestTimeouts.Eventually(
            () => connections.All(c => c.ConnectionId is { } id && tracker.GetUserConnections(userId).Contains(id)),
            $"the server registered {connections.Length} connection(s) of {userId}");
}
