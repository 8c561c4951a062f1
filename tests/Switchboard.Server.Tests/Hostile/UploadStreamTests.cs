using Microsoft.AspNetCore.SignalR.Client;
using Switchboard.Contracts;
using Switchboard.Core.Streaming;
using Switchboard.Server.Hubs;
using Switchboard.Server.Tests.Infrastructure;

namespace Switchboard.Server.Tests.Hostile;

/// <summary>A server that drops a client silent for 4 seconds (SignalR's client timeout), pinging every second.</summary>
public sealed class ShortTimeoutServer() : SwitchboardFactoryWith(new()
{
    ["SignalR:KeepAliveInterval"] = "00:00:01",
    ["SignalR:ClientTimeoutInterval"] = "00:00:04",
})
{
    /// <summary>Control clients that ping every half second, so the short timeout never drops them.</summary>
    public Task<Control> ControlAsync() => Control.StartAsync(id => Token(id), (hub, token) =>
        new HubConnectionBuilder()
            .WithUrl(BaseUrl + hub, o => o.AccessTokenProvider = () => Task.FromResult<string?>(token))
            .WithKeepAliveInterval(TimeSpan.FromMilliseconds(500))
            .Build());
}

/// <summary>
/// Uploads that never complete, and clients that go quiet. Whichever way the connection ends (the
/// client vanishes, falls silent, or the server closes it), the upload loop ends with it: nothing
/// stays counted in <see cref="ActiveStreams"/> or registered.
/// </summary>
public sealed class UploadStreamTests(ShortTimeoutServer server) : IClassFixture<ShortTimeoutServer>
{
    private ActiveStreams Active => server.Get<ActiveStreams>();
    private ConnectionRegistry Registry => server.Get<ConnectionRegistry>();

    /// <summary>A raw client in the middle of an upload it never completes: the loop is running on the server.</summary>
    private async Task<RawWebSocket> StartEndlessUploadAsync(string user)
    {
        await TestTimeouts.Eventually(() => Active.Uploads == 0, "no upload is running before the test");
        var raw = await RawWebSocket.ConnectAsync(server.BaseUrl, HubRoutes.Upload, server.Token(user));
        Assert.Equal("{}", await raw.HandshakeAsync());
        await raw.SendTextAsync(RawWebSocket.Invocation("upload", HubMethods.UploadStream, [], streamIds: ["s"]));
        for (var i = 0; i < 3; i++)
        {
            await raw.SendTextAsync($"{{\"type\":2,\"invocationId\":\"s\",\"item\":\"chunk {i}\"}}{RawWebSocket.RecordSeparator}");
        }
        var progress = await raw.NextRecordAsync(r => r.TryGetProperty("target", out var t) && t.GetString() == ClientEvents.UploadProgress);
        Assert.NotNull(progress);
        Assert.Equal(1, Active.Uploads);
        return raw;
    }

    [Fact]
    public async Task AnUploadWhoseClientVanishesEnds()
    {
        await using var control = await server.ControlAsync();
        var raw = await StartEndlessUploadAsync("vanishing");

        await raw.DisposeAsync(); // TCP closed mid-upload, no close frame, no completion

        await TestTimeouts.Eventually(() => Active.Uploads == 0, "the upload ended on the server");
        await TestTimeouts.Eventually(() => !Registry.Contains(raw.ConnectionId!), "the connection is gone");
        await control.AssertHealthyAsync();
    }

    [Fact]
    public async Task AnUploadWhoseClientFallsSilentEndsAtTheClientTimeout()
    {
        await using var control = await server.ControlAsync();
        await using var raw = await StartEndlessUploadAsync("silent");

        // No more items, no pings: after SignalR:ClientTimeoutInterval the server gives up on it.
        Assert.True(await raw.EndsAsync());

        await TestTimeouts.Eventually(() => Active.Uploads == 0, "the upload ended on the server");
        Assert.False(Registry.Contains(raw.ConnectionId!));
        await control.AssertHealthyAsync();
    }

    [Fact]
    public async Task AClientSilentAfterItsHandshakeIsDroppedAtTheClientTimeout()
    {
        await using var control = await server.ControlAsync();
        await using var raw = await RawWebSocket.ConnectAsync(server.BaseUrl, HubRoutes.Chat, server.Token("mute"));
        Assert.Equal("{}", await raw.HandshakeAsync());

        // Never a ping: SignalR alone would keep it forever; Switchboard arms the timeout at connect.
        var (close, ended) = await raw.UntilClosedAsync();

        Assert.Equal("Connection closed with an error.", close?.GetProperty("error").GetString());
        Assert.True(ended);
        await TestTimeouts.Eventually(() => !Registry.Contains(raw.ConnectionId!), "the silent connection is gone");
        await control.AssertHealthyAsync();
    }

    [Fact]
    public async Task AnUploadClosedThroughTheApiEnds()
    {
        await using var control = await server.ControlAsync();
        await using var raw = await StartEndlessUploadAsync("kicked");
        using var http = server.Http(server.Token("ops", roles: ["Admin"]));

        var response = await http.DeleteAsync($"/api/connections/{raw.ConnectionId}?reason=endless").DefaultTimeout();
        response.EnsureSuccessStatusCode();
        var (close, ended) = await raw.UntilClosedAsync();

        Assert.Equal("disconnected: endless", close?.GetProperty("error").GetString());
        Assert.True(ended);
        await TestTimeouts.Eventually(() => Active.Uploads == 0, "the upload ended on the server");
        await control.AssertHealthyAsync();
    }
}
