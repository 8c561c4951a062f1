using Microsoft.AspNetCore.SignalR.Client;
using Switchboard.Contracts;
using Switchboard.Server.Tests.Infrastructure;

namespace Switchboard.Server.Tests;

/// <summary>A server allowing each user 2 open connections.</summary>
public sealed class TwoConnectionsServer() : SwitchboardFactoryWith(new() { ["Switchboard:Limits:MaxConnectionsPerUser"] = "2" });

public sealed class ConnectionQuotaTests(TwoConnectionsServer server) : IClassFixture<TwoConnectionsServer>
{
    [Fact]
    public async Task AUsersConnectionOverTheLimitIsClosedWithTheReasonAndTheOthersStay()
    {
        var token = server.Token("uma");
        await using var first = await server.ConnectAsync(HubRoutes.Chat, token);
        await using var second = await server.ConnectAsync(HubRoutes.Notifications, token);
        await using var third = server.Hub(HubRoutes.Chat, token);
        var closed = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        third.Closed += e => { closed.TrySetResult(e); return Task.CompletedTask; };
        await using var otherUser = await server.ConnectAsync(HubRoutes.Chat, server.Token("ulf"));

        await third.StartAsync().DefaultTimeout(); // the handshake succeeds; the server then closes it
        var error = await closed.Task.DefaultTimeout();

        Assert.Contains("too_many_connections: A user may have at most 2 connections open", error?.Message);
        Assert.Equal(HubConnectionState.Connected, first.State);
        Assert.Equal(HubConnectionState.Connected, second.State);
        Assert.Equal(HubConnectionState.Connected, otherUser.State);

        await second.StopAsync().DefaultTimeout();
        await TestTimeouts.Eventually(() => server.Get<Core.Connections.IConnectionTracker>().GetUserConnections("uma").Count == 1, "a slot is free");
        await using var again = await server.ConnectAsync(HubRoutes.Chat, token);
        Assert.Equal(HubConnectionState.Connected, again.State);
    }
}
