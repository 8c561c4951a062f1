using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.Http.Connections.Features;
using Microsoft.AspNetCore.SignalR;
using Switchboard.Server.Authentication;

namespace Switchboard.Server.Hubs;

/// <summary>
/// Keeps a long-polling connection to the identity it was opened with. On long polling every
/// poll and send is a request of its own with its own token: SignalR takes the connection's
/// expiry from each request's token (<c>CloseOnAuthenticationExpiration</c>), while the hub keeps
/// the user of the connect request. A client polling with another user's token would therefore
/// keep a connection opened with an expiring (or stolen) token alive, as that user, past its
/// expiry. Such a connection is closed once a request of it carries another user (checked on
/// SignalR's heartbeat, about once a second); a user who renews their own token is unaffected.
/// WebSockets and Server-Sent Events connections are one request and are not watched.
/// </summary>
internal static class LongPollingIdentity
{
    public static void Watch(HubConnectionContext connection)
    {
        if (connection.Features.Get<IHttpTransportFeature>()?.TransportType != HttpTransportType.LongPolling
            || connection.Features.Get<IConnectionHeartbeatFeature>() is not { } heartbeat
            || connection.Features.Get<IConnectionUserFeature>() is not { } users)
        {
            return;
        }
        heartbeat.OnHeartbeat(static state =>
        {
            var (connection, users, opener) = ((HubConnectionContext, IConnectionUserFeature, string?))state;
            if (!string.Equals(users.User?.UserId(), opener, StringComparison.Ordinal))
            {
                connection.Abort();
            }
        }, (connection, users, connection.User.UserId()));
    }
}
