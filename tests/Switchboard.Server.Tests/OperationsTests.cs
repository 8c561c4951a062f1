using System.Net;
using System.Text.Json;
using Switchboard.Server.Tests.Infrastructure;

namespace Switchboard.Server.Tests;

public sealed class OperationsTests(SwitchboardFactory server) : IClassFixture<SwitchboardFactory>
{
    [Theory]
    [InlineData("/health/live")]
    [InlineData("/health/ready")]
    public async Task HealthEndpointsAnswerHealthyWithoutAToken(string path)
    {
        using var http = server.Http();
        var response = await http.GetAsync(path).DefaultTimeout();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Healthy", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task TheOpenApiDocumentDescribesEveryApiRoute()
    {
        using var http = server.Http();
        using var document = JsonDocument.Parse(await http.GetStringAsync("/openapi/v1.json").DefaultTimeout());
        var paths = document.RootElement.GetProperty("paths");

        foreach (var (path, method) in new[]
        {
            ("/api/notifications/broadcast", "post"), ("/api/notifications/users/{userId}", "post"),
            ("/api/notifications/groups/{groupName}", "post"), ("/api/presence/users/{userId}", "get"),
            ("/api/groups/{groupName}/messages", "post"), ("/api/groups/{groupName}/messages", "get"),
            ("/api/groups/{groupName}/presence", "get"), ("/api/groups/{groupName}/users/{userId}", "post"),
            ("/api/groups/{groupName}/users/{userId}", "delete"), ("/api/users/{userId}/presence", "get"),
            ("/api/connections/{connectionId}", "delete"), ("/api/users/{userId}/connections", "delete"), ("/api/stats", "get"),
        })
        {
            Assert.True(paths.TryGetProperty(path, out var item) && item.TryGetProperty(method, out _), $"{method} {path} is described");
        }
        var publish = paths.GetProperty("/api/groups/{groupName}/messages").GetProperty("post");
        Assert.Equal("PublishToGroup", publish.GetProperty("operationId").GetString());
        Assert.True(publish.GetProperty("requestBody").GetProperty("content").TryGetProperty("application/json", out _));

        // The refusals every route can give are declared: 401, 403, 429 everywhere; 413 with a body; 404 for an unknown connection.
        foreach (var path in paths.EnumerateObject().Where(p => p.Name.StartsWith("/api/", StringComparison.Ordinal)))
        {
            foreach (var operation in path.Value.EnumerateObject())
            {
                var responses = operation.Value.GetProperty("responses");
                foreach (var status in new[] { "401", "403", "429" })
                {
                    Assert.True(responses.TryGetProperty(status, out _), $"{operation.Name} {path.Name} declares {status}");
                }
                if (operation.Value.TryGetProperty("requestBody", out _))
                {
                    Assert.True(responses.TryGetProperty("413", out _), $"{operation.Name} {path.Name} declares 413");
                }
            }
        }
        Assert.True(paths.GetProperty("/api/connections/{connectionId}").GetProperty("delete").GetProperty("responses").TryGetProperty("404", out _));
        var paging = paths.GetProperty("/api/groups/{groupName}/messages").GetProperty("get").GetProperty("parameters").EnumerateArray()
            .Select(p => p.GetProperty("name").GetString()).ToList();
        Assert.Contains("after", paging);
        Assert.Contains("limit", paging);
    }

    [Fact]
    public async Task TheApiReferencePageIsServedFromTheServerAndOffersBearerTokens()
    {
        using var http = server.Http();
        var page = await http.GetAsync("/docs/api/index.html").DefaultTimeout();
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        var html = await page.Content.ReadAsStringAsync();
        Assert.Contains("swagger-ui", html);
        Assert.DoesNotContain("https://", html); // its scripts come from the server, not a CDN
        var settings = await http.GetStringAsync("/docs/api/index.js").DefaultTimeout();
        Assert.Contains("/openapi/v1.json", settings);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/docs/api/swagger-ui-bundle.js").DefaultTimeout()).StatusCode);

        using var document = JsonDocument.Parse(await http.GetStringAsync("/openapi/v1.json").DefaultTimeout());
        var bearer = document.RootElement.GetProperty("components").GetProperty("securitySchemes").GetProperty("Bearer");
        Assert.Equal("bearer", bearer.GetProperty("scheme").GetString());
        Assert.True(document.RootElement.GetProperty("security")[0].TryGetProperty("Bearer", out _));
    }
}
