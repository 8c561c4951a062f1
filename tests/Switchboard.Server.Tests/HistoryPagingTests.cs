using System.Net;
using System.Net.Http.Json;
using Microsoft.AspNetCore.SignalR.Client;
using Switchboard.Contracts;
using Switchboard.Server.Tests.Infrastructure;

namespace Switchboard.Server.Tests;

/// <summary>A server whose history answers carry about 10 payload characters.</summary>
public sealed class SmallAnswersServer() : SwitchboardFactoryWith(new() { ["Switchboard:Recovery:MaxCharacters"] = "10" });

/// <summary>History pages and client-chosen ids over the HTTP API and the hubs.</summary>
public sealed class HistoryPagingTests(SwitchboardFactory server) : IClassFixture<SwitchboardFactory>
{
    private static string NewGroup() => "hp-" + Guid.NewGuid().ToString("N")[..12];

    [Fact]
    public async Task AnIdUsedFirstByAnotherSenderDoesNotSwallowAPublishersMessage()
    {
        var group = NewGroup();
        await using var chatUser = await server.ConnectAsync(HubRoutes.Chat, server.Token("mallory", "Mallory"));
        using var backend = server.Http(server.Token("backend", "Backend", ["Publisher"]));

        var squat = await chatUser.InvokeAsync<PublishResult>(HubMethods.Publish, group,
            new PublishRequest { Id = "build-43", Message = "Build 43 is red" }).DefaultTimeout();
        var response = await backend.PostAsJsonAsync($"/api/groups/{group}/messages",
            new PublishRequest { Id = "build-43", Message = "Build 43 is green" }).DefaultTimeout();
        var ack = await response.Content.ReadFromJsonAsync<PublishResult>();
        var retry = await (await backend.PostAsJsonAsync($"/api/groups/{group}/messages",
            new PublishRequest { Id = "build-43", Message = "Build 43 is green" }).DefaultTimeout()).Content.ReadFromJsonAsync<PublishResult>();
        var page = await backend.GetFromJsonAsync<HistoryPageDto>($"/api/groups/{group}/messages?after=0&limit=10").DefaultTimeout();

        Assert.False(squat.Duplicate);
        Assert.Equal((false, 2L), (ack!.Duplicate, ack.Offset));
        Assert.Equal((true, 2L), (retry!.Duplicate, retry.Offset)); // the backend's own retry is still recognised
        Assert.Equal(["mallory", "backend"], page!.Messages.Select(m => m.SenderId));
    }

    [Theory]
    [InlineData("after=abc")]
    [InlineData("after=99999999999999999999")]
    [InlineData("after=")]
    [InlineData("limit=ten")]
    [InlineData("after=1&after=2")]
    [InlineData("limit=0")]
    [InlineData("after=-1")]
    public async Task PagingValuesThatAreNotUsableArePositionInvalid(string query)
    {
        using var http = server.Http(server.Token("backend", roles: ["Publisher"]));
        var response = await http.GetAsync($"/api/groups/{NewGroup()}/messages?{query}").DefaultTimeout();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<Dictionary<string, object>>();
        Assert.Equal(ErrorCodes.PositionInvalid, problem!["code"].ToString());
    }

    [Fact]
    public async Task APageAfterTheLargestOffsetIsEmpty()
    {
        using var http = server.Http(server.Token("backend", roles: ["Publisher"]));
        var page = await http.GetFromJsonAsync<HistoryPageDto>($"/api/groups/{NewGroup()}/messages?after={long.MaxValue}").DefaultTimeout();
        Assert.Empty(page!.Messages);
    }
}

/// <summary>Pages asked for over the API and the hubs are cut by size as recovery answers are.</summary>
public sealed class HistoryPageSizeTests(SmallAnswersServer server) : IClassFixture<SmallAnswersServer>
{
    [Fact]
    public async Task AHistoryPageCarriesAboutMaxCharactersAndSaysThereIsMore()
    {
        var group = "size-" + Guid.NewGuid().ToString("N")[..8];
        await using var client = await server.ConnectAsync(HubRoutes.Chat, server.Token("pager"));
        for (var i = 1; i <= 4; i++)
        {
            await client.InvokeAsync<PublishResult>(HubMethods.Publish, group, new PublishRequest { Message = $"message-{i}" }).DefaultTimeout();
        }
        using var http = server.Http(server.Token("backend", roles: ["Publisher"]));

        var overHub = await client.InvokeAsync<HistoryPageDto>(HubMethods.GetHistory, group, 0L, 4).DefaultTimeout();
        var overHttp = await http.GetFromJsonAsync<HistoryPageDto>($"/api/groups/{group}/messages?after=0&limit=4").DefaultTimeout();

        foreach (var page in new[] { overHub, overHttp! })
        {
            Assert.Equal(["message-1"], page.Messages.Select(m => m.Payload)); // 9 characters; a second would pass 10
            Assert.True(page.HasMore);
        }
    }
}
