using System.Net;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using Switchboard.Contracts;
using Switchboard.Server.Tests.Infrastructure;

namespace Switchboard.Server.Tests;

/// <summary>A server that allows one extra browser origin.</summary>
public sealed class OneOriginServer() : SwitchboardFactoryWith(new() { ["Switchboard:AllowedOrigins:0"] = "https://app.example.test" });

public sealed class OriginTests(OneOriginServer server) : IClassFixture<OneOriginServer>
{
    private HubConnection WithOrigin(string? origin, bool skipNegotiation) => new HubConnectionBuilder()
        .WithUrl(server.BaseUrl + HubRoutes.Chat, o =>
        {
            o.AccessTokenProvider = () => Task.FromResult<string?>(server.Token("ora"));
            o.SkipNegotiation = skipNegotiation;
            o.Transports = HttpTransportType.WebSockets;
            if (origin is not null) o.Headers["Origin"] = origin;
        })
        .Build();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AForeignOriginIsRefusedOnNegotiateAndOnTheWebSocketUpgrade(bool skipNegotiation)
    {
        await using var connection = WithOrigin("https://evil.example.test", skipNegotiation);
        var error = await Assert.ThrowsAnyAsync<Exception>(() => connection.StartAsync().DefaultTimeout());
        Assert.True(error is HttpRequestException { StatusCode: HttpStatusCode.Forbidden } || error.ToString().Contains("403"), error.ToString());
    }

    [Theory]
    [InlineData("https://app.example.test")]
    [InlineData(null)]
    public async Task AllowedOriginsAndClientsWithoutAnOriginConnect(string? origin)
    {
        await using var connection = WithOrigin(origin, skipNegotiation: false);
        await connection.StartedAsync();
        Assert.Equal(HubConnectionState.Connected, connection.State);
    }

    [Fact]
    public async Task TheServersOwnOriginConnectsAndTheRefusalCarriesItsCode()
    {
        await using var own = WithOrigin(server.BaseUrl, skipNegotiation: false);
        await own.StartedAsync();
        using var http = server.Http();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/hubs/chat/negotiate?negotiateVersion=1");
        request.Headers.Add("Origin", "https://evil.example.test");

        var refused = await http.SendAsync(request).DefaultTimeout();

        Assert.Equal(HubConnectionState.Connected, own.State);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Contains("\"code\":\"origin_not_allowed\"", await refused.Content.ReadAsStringAsync());
    }
}
