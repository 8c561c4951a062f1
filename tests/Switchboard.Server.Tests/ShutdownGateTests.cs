using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.TestHost;
using Switchboard.Contracts;
using Switchboard.Server.Hosting;
using Switchboard.Server.Tests.Infrastructure;

namespace Switchboard.Server.Tests;

/// <summary>
/// After the stop signal, hub requests are refused with 503 <c>unavailable</c>, so no hub
/// connection opens while the server shuts down; everything else still runs. The stop signal is
/// raised here without stopping the host, so the answer can be read.
/// </summary>
public sealed class ShutdownGateTests
{
    [Fact]
    public async Task HubRequestsAreRefusedOnceTheServerIsStopping()
    {
        using var stopping = new CancellationTokenSource();
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseTestServer();
        await using var app = builder.Build();
        app.UseShutdownGate(stopping.Token);
        app.Map(HubRoutes.Chat + "/negotiate", () => "negotiated");
        app.Map("/api/ping", () => "pong");
        await app.StartAsync().DefaultTimeout();
        using var http = app.GetTestClient();

        Assert.Equal("negotiated", await (await http.PostAsync(HubRoutes.Chat + "/negotiate", null).DefaultTimeout()).Content.ReadAsStringAsync());

        stopping.Cancel();
        var refused = await http.PostAsync(HubRoutes.Chat + "/negotiate", null).DefaultTimeout();
        var api = await http.GetAsync("/api/ping").DefaultTimeout();

        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.Equal("5", refused.Headers.GetValues("Retry-After").Single());
        using var problem = JsonDocument.Parse(await refused.Content.ReadAsStringAsync());
        Assert.Equal(ErrorCodes.Unavailable, problem.RootElement.GetProperty("code").GetString());
        Assert.Equal(HttpStatusCode.OK, api.StatusCode); // only hubs are gated
        await app.StopAsync().DefaultTimeout();
    }
}
