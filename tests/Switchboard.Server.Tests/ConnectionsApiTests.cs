using System.Net;
using System.Net.Http.Json;
using Microsoft.AspNetCore.SignalR.Client;
using Switchboard.Contracts;
using Switchboard.Server.Tests.Infrastructure;

namespace Switchboard.Server.Tests;

public sealed class ConnectionsApiTests(SwitchboardFactory server) : IClassFixture<SwitchboardFactory>
{
    private sealed record CloseResult(int Closed);

    private HttpClient Admin() => server.Http(server.Token("ops", roles: ["Admin"]));

    private (HubConnection Connection, Task<Exception?> Closed, Func<bool> Reconnecting) Watch(string hub, string user)
    {
        var connection = new HubConnectionBuilder()
            .WithUrl(server.BaseUrl + hub, o => o.AccessTokenProvider = () => Task.FromResult<string?>(server.Token(user)))
            .WithAutomaticReconnect([TimeSpan.Zero])
            .Build();
        var closed = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        var reconnecting = false;
        connection.Closed += e => { closed.TrySetResult(e); return Task.CompletedTask; };
        connection.Reconnecting += _ => { reconnecting = true; return Task.CompletedTask; };
        return (connection, closed.Task, () => reconnecting);
    }

    [Fact]
    public async Task ClosingAConnectionTellsTheClientWhyAndItDoesNotReconnect()
    {
        var (target, closed, reconnecting) = Watch(HubRoutes.Chat, "kai");
        await using var _ = target;
        await using var neighbour = server.Hub(HubRoutes.Chat, server.Token("lee", "Lee"));
        var atNeighbour = Events.On<string, string>(neighbour, ClientEvents.ReceiveMessage);
        await Task.WhenAll(target.StartedAsync(), neighbour.StartedAsync()).DefaultTimeout();
        using var http = Admin();
        await TestTimeouts.Eventually(() => server.Get<Hubs.ConnectionRegistry>().Contains(target.ConnectionId!), "the connection is registered");

        var response = await http.DeleteAsync($"/api/connections/{target.ConnectionId}?reason=maintenance").DefaultTimeout();
        var error = await closed.DefaultTimeout();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("disconnected: maintenance", error?.Message);
        Assert.False(reconnecting());
        Assert.Equal(HubConnectionState.Disconnected, target.State);
        await neighbour.InvokeAsync(HubMethods.SendMessage, "x", "fine").DefaultTimeout();
        Assert.Equal(("Lee", "fine"), await atNeighbour.NextAsync());
    }

    [Fact]
    public async Task ClosingAUserClosesEveryConnectionOfThatUserOnEveryHub()
    {
        var (chat, chatClosed, _) = Watch(HubRoutes.Chat, "max");
        var (notifications, notificationsClosed, _) = Watch(HubRoutes.Notifications, "max");
        await using var a = chat;
        await using var b = notifications;
        await using var other = await server.ConnectAsync(HubRoutes.Chat, server.Token("ned"));
        await Task.WhenAll(chat.StartedAsync(), notifications.StartedAsync()).DefaultTimeout();
        using var http = Admin();
        var tracker = server.Get<Core.Connections.IConnectionTracker>();
        await TestTimeouts.Eventually(() => tracker.GetUserConnections("max").Count == 2, "both connections are tracked");

        var response = await http.DeleteAsync("/api/users/max/connections").DefaultTimeout();
        var result = await response.Content.ReadFromJsonAsync<CloseResult>();
        await Task.WhenAll(chatClosed, notificationsClosed).DefaultTimeout();

        Assert.Equal(2, result!.Closed);
        Assert.Contains("disconnected: ", (await chatClosed)?.Message);
        Assert.Equal(HubConnectionState.Connected, other.State);
    }

    [Fact]
    public async Task UnknownConnectionsAndBadReasonsAreProblems()
    {
        using var http = Admin();
        var unknown = await http.DeleteAsync("/api/connections/no-such-connection").DefaultTimeout();
        var control = await http.DeleteAsync("/api/connections/x?reason=%07bell").DefaultTimeout();

        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal(ErrorCodes.ConnectionNotFound, (await unknown.Content.ReadFromJsonAsync<Dictionary<string, object>>())!["code"].ToString());
        Assert.Equal(HttpStatusCode.BadRequest, control.StatusCode);
    }

    [Fact]
    public async Task OnlyAdminsAndPublishersMayCloseConnections()
    {
        await using var target = await server.ConnectAsync(HubRoutes.Chat, server.Token("oz"));
        using var anonymous = server.Http();
        using var member = server.Http(server.Token("oz"));

        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.DeleteAsync($"/api/connections/{target.ConnectionId}").DefaultTimeout()).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await member.DeleteAsync("/api/users/oz/connections").DefaultTimeout()).StatusCode);
        Assert.Equal(HubConnectionState.Connected, target.State);
    }
}
