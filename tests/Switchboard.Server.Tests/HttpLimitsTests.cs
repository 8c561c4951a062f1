using System.Net;
using System.Net.Http.Json;
using System.Text;
using Switchboard.Contracts;
using Switchboard.Server.Tests.Infrastructure;

namespace Switchboard.Server.Tests;

/// <summary>A server allowing each HTTP caller 3 requests at once, refilled at 1 per second, and 2 KB bodies.</summary>
public sealed class HttpLimitedServer() : SwitchboardFactoryWith(new()
{
    ["Switchboard:Limits:HttpRequestsPerSecond"] = "1",
    ["Switchboard:Limits:HttpBurst"] = "3",
    ["Switchboard:Limits:MaxRequestBodyBytes"] = "2048",
});

public sealed class HttpLimitsTests(HttpLimitedServer server) : IClassFixture<HttpLimitedServer>
{
    private static async Task<string?> CodeOf(HttpResponseMessage response) =>
        (await response.Content.ReadFromJsonAsync<Dictionary<string, object>>())?["code"].ToString();

    [Fact]
    public async Task RequestsWithoutAValidTokenAreLimitedByAddressBeforeTheyAreRefused()
    {
        using var guesser = server.Http("not-a-token");
        var statuses = new List<HttpStatusCode>();
        HttpResponseMessage? refused = null;
        for (var i = 0; i < 10 && refused is null; i++)
        {
            var response = await guesser.GetAsync("/api/stats").DefaultTimeout();
            statuses.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.TooManyRequests) refused = response;
        }

        Assert.NotNull(refused); // token guessing is throttled like any caller
        Assert.Equal(ErrorCodes.RateLimited, await CodeOf(refused));
        Assert.All(statuses.SkipLast(1), status => Assert.Equal(HttpStatusCode.Unauthorized, status));
    }

    [Fact]
    public async Task ACallerOverItsRateGets429WithRetryAfterAndOthersAreUnaffected()
    {
        using var flooder = server.Http(server.Token("flood-backend", roles: ["Publisher"]));
        using var other = server.Http(server.Token("calm-backend", roles: ["Publisher"]));

        var statuses = new List<HttpStatusCode>();
        HttpResponseMessage? refused = null;
        for (var i = 0; i < 10 && refused is null; i++)
        {
            var response = await flooder.GetAsync("/api/stats").DefaultTimeout();
            statuses.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.TooManyRequests) refused = response;
        }

        Assert.NotNull(refused);
        Assert.InRange(statuses.Count(s => s == HttpStatusCode.OK), 3, 4); // the burst, plus a refill on a slow machine
        Assert.Equal(ErrorCodes.RateLimited, await CodeOf(refused!));
        Assert.True(int.Parse(refused!.Headers.GetValues("Retry-After").Single()) >= 1);
        Assert.Equal(HttpStatusCode.OK, (await other.GetAsync("/api/stats").DefaultTimeout()).StatusCode);
    }

    [Fact]
    public async Task ABodyOverTheLimitIs413WithItsCodeWithOrWithoutALength()
    {
        using var http = server.Http(server.Token("big-backend", roles: ["Publisher"]));
        var big = "\"" + new string('x', 4000) + "\"";

        var withLength = await http.PostAsync("/api/notifications/broadcast", new StringContent(big, Encoding.UTF8, "application/json")).DefaultTimeout();
        var chunked = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(big)));
        chunked.Headers.ContentType = new("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/groups/big/messages") { Content = chunked };
        request.Headers.TransferEncodingChunked = true;
        var withoutLength = await http.SendAsync(request).DefaultTimeout();

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, withLength.StatusCode);
        Assert.Equal(ErrorCodes.BodyTooLarge, await CodeOf(withLength));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, withoutLength.StatusCode);
        Assert.Equal(ErrorCodes.BodyTooLarge, await CodeOf(withoutLength));
    }
}
