using System.IO.Pipelines;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Internal;
using Microsoft.Extensions.Logging.Abstractions;
using Switchboard.Contracts;
using Switchboard.Server.Hosting;
using Switchboard.Server.Hubs;
using Switchboard.Server.Tests.Infrastructure;

namespace Switchboard.Server.Tests;

/// <summary>
/// After the stop signal, hub requests are refused with 503 <c>unavailable</c>, so no hub
/// connection opens while the server shuts down; everything else still runs. The stop signal is
/// raised here without stopping the host, so the answer can be read. A hub connection whose
/// connect completes after the signal anyway (it passed the gate just before) is aborted at once.
/// </summary>
public sealed class ShutdownGateTests(SwitchboardFactory server) : IClassFixture<SwitchboardFactory>
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

    [Fact]
    public async Task AConnectionThatCompletesItsConnectAfterTheStopSignalIsAbortedAtOnce()
    {
        // The server's own lifetime manager, registry and guard, with a stop signal of its own.
        var lifetime = new ApplicationLifetime(NullLogger<ApplicationLifetime>.Instance);
        var manager = new RegistryHubLifetimeManager<ChatHub>(new StoppingServices(server.Services, lifetime),
            server.Get<HubLifetimeManagerChoice>(), server.Get<ConnectionRegistry>(), server.Get<SlowConsumerGuard>());
        var (before, beforeInput) = Connection("connected-before-the-stop-signal");
        var (after, _) = Connection("connected-after-the-stop-signal");
        var abortedAfter = Aborted(after);
        try
        {
            await manager.OnConnectedAsync(before).DefaultTimeout();
            lifetime.StopApplication();
            await manager.OnConnectedAsync(after).DefaultTimeout();

            await abortedAfter.DefaultTimeout();
            // The shutdown closes it, not the gate. Abort() cancels the connection's pending read
            // at once (its token only later, on the pool), so a wrong abort would show here already.
            Assert.False(beforeInput.TryRead(out var read) && read.IsCanceled, "the connection made before the stop signal was aborted");
            Assert.False(before.ConnectionAborted.IsCancellationRequested);
        }
        finally
        {
            await manager.OnDisconnectedAsync(before).DefaultTimeout();
            await manager.OnDisconnectedAsync(after).DefaultTimeout();
        }
    }

    /// <summary>
    /// A hub connection context on a real connection context and pipes, with no client behind it,
    /// and the input it reads from (which its Abort cancels synchronously).
    /// </summary>
    private static (HubConnectionContext Connection, PipeReader Input) Connection(string id)
    {
        var toApplication = new Pipe();
        var toTransport = new Pipe();
        var connection = new DefaultConnectionContext(id,
            new Duplex(toApplication.Reader, toTransport.Writer), new Duplex(toTransport.Reader, toApplication.Writer));
        return (new HubConnectionContext(connection, new HubConnectionContextOptions
        {
            KeepAliveInterval = TimeSpan.FromSeconds(15),
            ClientTimeoutInterval = TimeSpan.FromSeconds(30),
            StreamBufferCapacity = 10,
            MaximumParallelInvocations = 1,
        }, NullLoggerFactory.Instance), connection.Transport.Input);
    }

    private static Task Aborted(HubConnectionContext connection)
    {
        var aborted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        connection.ConnectionAborted.Register(() => aborted.TrySetResult());
        return aborted.Task;
    }

    private sealed record Duplex(PipeReader Input, PipeWriter Output) : IDuplexPipe;

    /// <summary>The server's services, except that the application's lifetime is <paramref name="lifetime"/>.</summary>
    private sealed class StoppingServices(IServiceProvider services, IHostApplicationLifetime lifetime) : IServiceProvider
    {
        public object? GetService(Type serviceType) =>
            serviceType == typeof(IHostApplicationLifetime) ? lifetime : services.GetService(serviceType);
    }
}
