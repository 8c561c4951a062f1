using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.SignalR.Client;
using Switchboard.Contracts;
using Switchboard.Server.Tests.Infrastructure;

namespace Switchboard.Server.Tests;

/// <summary>
/// On long polling each request carries its own token. A connection opened as one user and then
/// polled with another user's token is closed (otherwise it lived on as the first user past that
/// user's expiry, since SignalR takes the expiry from each poll); renewing one's own token is fine.
/// </summary>
public sealed class LongPollingIdentityTests(SwitchboardFactory server) : IClassFixture<SwitchboardFactory>
{
    private const char RecordSeparator = '\u001e';

    [Fact]
    public async Task ALongPollingConnectionPolledWithAnotherUsersTokenIsClosed()
    {
        await using (var sender = await server.ConnectAsync(HubRoutes.SecureChat, server.Token("lp-sender")))
        {
            await sender.InvokeAsync(HubMethods.SendPrivateMessage, "lp-alice", "for alice only").DefaultTimeout();
        }
        var alice = server.Token("lp-alice");
        using var http = new HttpClient { BaseAddress = new Uri(server.BaseUrl), Timeout = TestTimeouts.Network };
        var negotiate = await Send(http, HttpMethod.Post, HubRoutes.SecureChat + "/negotiate?negotiateVersion=1", alice, null);
        Assert.Equal(HttpStatusCode.OK, negotiate.StatusCode);
        var id = JsonDocument.Parse(await negotiate.Content.ReadAsStringAsync()).RootElement.GetProperty("connectionToken").GetString()!;
        var path = $"{HubRoutes.SecureChat}?id={Uri.EscapeDataString(id)}";
        Assert.Equal(HttpStatusCode.OK, (await Send(http, HttpMethod.Post, path, alice, "{\"protocol\":\"json\",\"version\":1}" + RecordSeparator)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Send(http, HttpMethod.Get, path, alice, null)).StatusCode); // the handshake answer

        // Alice with a renewed token of her own: still her connection.
        var renewed = server.Token("lp-alice");
        Assert.Equal(HttpStatusCode.OK, (await Send(http, HttpMethod.Post, path, renewed,
            "{\"type\":1,\"invocationId\":\"mine\",\"target\":\"GetPrivateHistory\",\"arguments\":[0,10]}" + RecordSeparator)).StatusCode);
        var answer = "";
        var until = DateTime.UtcNow + TestTimeouts.Network;
        while (!answer.Contains("\"invocationId\":\"mine\"") && DateTime.UtcNow < until)
        {
            var poll = await Send(http, HttpMethod.Get, path, renewed, null);
            Assert.Equal(HttpStatusCode.OK, poll.StatusCode);
            answer += await poll.Content.ReadAsStringAsync();
        }
        Assert.Contains("for alice only", answer);

        // Mallory's token from here on: the connection is closed rather than served as alice.
        var mallory = server.Token("lp-mallory");
        var deadline = DateTime.UtcNow + TestTimeouts.Network;
        HttpStatusCode status;
        do
        {
            status = (await Send(http, HttpMethod.Get, path, mallory, null)).StatusCode;
        }
        while (status == HttpStatusCode.OK && DateTime.UtcNow < deadline); // each poll returns within SignalR's poll timeout or on close
        Assert.Contains(status, new[] { HttpStatusCode.NoContent, HttpStatusCode.NotFound });
        var late = await Send(http, HttpMethod.Post, path, mallory,
            "{\"type\":1,\"invocationId\":\"late\",\"target\":\"GetPrivateHistory\",\"arguments\":[0,10]}" + RecordSeparator);
        Assert.Equal(HttpStatusCode.NotFound, late.StatusCode);
    }

    private static Task<HttpResponseMessage> Send(HttpClient http, HttpMethod method, string path, string token, string? body)
    {
        var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "text/plain");
        }
        return http.SendAsync(request);
    }
}
