using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.Logging;
using Switchboard.Contracts;
using Switchboard.Server.Hosting;
using Switchboard.Server.Tests.Infrastructure;

namespace Switchboard.Server.Tests;

/// <summary>A server that logs everything, down to Trace, into <see cref="SwitchboardFactory.Logs"/>.</summary>
public sealed class TraceLoggingServer : IAsyncDisposable
{
    public SwitchboardFactory Server { get; } = new() { CaptureLevel = LogLevel.Trace };
    public ValueTask DisposeAsync() => Server.DisposeAsync();
}

public sealed class LogRedactionTests(TraceLoggingServer fixture) : IClassFixture<TraceLoggingServer>
{
    private SwitchboardFactory Server => fixture.Server;

    [Fact]
    public async Task TokensNeverReachTheLogsOnAnyTransport()
    {
        var token = Server.Token("logan", "Logan", ["Admin"]);
        foreach (var transport in new[] { HttpTransportType.WebSockets, HttpTransportType.ServerSentEvents, HttpTransportType.LongPolling })
        {
            await using var connection = Server.Hub(HubRoutes.Chat, token, transport);
            var received = Events.On<string, string>(connection, ClientEvents.ReceiveMessage);
            await connection.StartedAsync();
            await connection.InvokeAsync(HubMethods.SendMessage, "x", "ping").DefaultTimeout();
            await received.NextAsync();
        }
        using (var http = Server.Http(token))
        {
            await http.GetAsync("/api/presence/users/logan").DefaultTimeout();
            await http.GetAsync($"/api/presence/users/logan?access_token={token}").DefaultTimeout();
        }
        // A token that fails validation is not logged either.
        await using (var forged = Server.Hub(HubRoutes.Chat, token[..^4] + "AAAA"))
        {
            await Assert.ThrowsAsync<HttpRequestException>(() => forged.StartedAsync());
        }

        var logs = Server.Logs.ToArray();
        var signature = token.Split('.')[2];
        Assert.DoesNotContain(logs, line => line.Contains(signature, StringComparison.Ordinal));
        Assert.DoesNotContain(logs, line => line.Contains(token.Split('.')[1], StringComparison.Ordinal));
        // The request lines were logged (Trace is on), with the token replaced.
        Assert.Contains(logs, line => line.Contains("Request starting") && line.Contains("access_token=" + LogRedaction.Replacement));
    }

    [Theory]
    [InlineData("GET /hubs/chat?id=abc&access_token=eyJhbGciOi.eyJzdWIi.sig-nature_x HTTP/1.1", "GET /hubs/chat?id=abc&access_token=[redacted] HTTP/1.1")]
    [InlineData("Authorization: Bearer abc.def.ghi", "Authorization: Bearer [redacted]")]
    [InlineData("token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl end", "token [redacted] end")]
    [InlineData("nothing secret here", "nothing secret here")]
    public void RedactionReplacesTokensAndLeavesOtherTextAlone(string input, string expected)
    {
        Assert.Equal(expected, LogRedaction.Redact(input));
    }
}
