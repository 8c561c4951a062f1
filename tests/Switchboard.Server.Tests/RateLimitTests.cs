using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Switchboard.Contracts;
using Switchboard.Server.Tests.Infrastructure;

namespace Switchboard.Server.Tests;

/// <summary>
/// A server allowing bursts of 5 invocations refilled at 1 per second (slow, so a slow machine
/// cannot refill the bucket mid-test), closing after 3 refusals in a row.
/// </summary>
public sealed class RateLimitedServer() : SwitchboardFactoryWith(new()
{
    ["Switchboard:Limits:InvocationsPerSecond"] = "1",
    ["Switchboard:Limits:InvocationBurst"] = "5",
    ["Switchboard:Limits:ViolationsBeforeClose"] = "3",
});

public sealed class RateLimitTests(RateLimitedServer server) : IClassFixture<RateLimitedServer>
{
    [Fact]
    public async Task InvocationsOverTheBurstAreRefusedAndANeighbourIsUnaffected()
    {
        await using var flooder = await server.ConnectAsync(HubRoutes.Chat, server.Token("flo"));
        await using var neighbour = server.Hub(HubRoutes.Chat, server.Token("ned", "Ned"));
        var atNeighbour = Events.On<string, string>(neighbour, ClientEvents.ReceiveMessage);
        await neighbour.StartedAsync();

        var allowed = 0;
        HubException? refused = null;
        while (refused is null && allowed < 20)
        {
            try { await flooder.InvokeAsync(HubMethods.JoinGroup, "flood").DefaultTimeout(); allowed++; }
            catch (HubException e) { refused = e; }
        }

        Assert.InRange(allowed, 5, 7); // the burst, plus what a slow machine refilled meanwhile
        Assert.Contains(ErrorCodes.RateLimited + ": More than 1 invocations per second (bursts of 5)", refused?.Message);
        Assert.Equal(HubConnectionState.Connected, flooder.State);
        await neighbour.InvokeAsync(HubMethods.SendMessage, "x", "unaffected").DefaultTimeout();
        Assert.Equal(("Ned", "unaffected"), await atNeighbour.NextAsync());
    }

    [Fact]
    public async Task AConnectionThatKeepsFloodingIsClosedWithTheReason()
    {
        var flooder = server.Hub(HubRoutes.Chat, server.Token("fay"));
        await using var _ = flooder;
        var closed = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        flooder.Closed += e => { closed.TrySetResult(e); return Task.CompletedTask; };
        await flooder.StartedAsync();

        // 5 allowed, then refusals; the third refusal in a row closes the connection.
        for (var i = 0; i < 30 && flooder.State == HubConnectionState.Connected; i++)
        {
            try { await flooder.InvokeAsync(HubMethods.JoinGroup, "flood").DefaultTimeout(); }
            catch (HubException) { }
            catch (Exception) when (flooder.State != HubConnectionState.Connected) { }
        }
        var error = await closed.Task.DefaultTimeout();

        Assert.Contains("rate_limited: Too many invocations; the connection was closed.", error?.Message);
    }
}
