using System.Net;
using System.Net.Http.Json;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Switchboard.Contracts;
using Switchboard.Server.Tests.Infrastructure;

namespace Switchboard.Server.Tests;

/// <summary>A server whose history answers carry about 10 payload characters.</summary>
public sealed class SmallAnswersServer() : SwitchboardFactoryWith(new() { ["Switchboard:Recovery:MaxCharacters"] = "10" });

/// <summary>A server that serves at most 5 messages per history page, below the clients' page size of 500.</summary>
public sealed class FewPerPageServer() : SwitchboardFactoryWith(new()
{
    ["Switchboard:Recovery:MaxMessages"] = "5",
    ["Switchboard:Recovery:MaxHistory"] = "5",
});

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
        Assert.Equal("after must not be negative and limit must be at least 1.", problem["detail"].ToString());
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

/// <summary>
/// A limit above <c>Switchboard:Recovery:MaxMessages</c> is served as that many, over the hubs and
/// the API, so a client need not know the deployment's maximum; a limit below 1 is still refused.
/// </summary>
public sealed class HistoryPageLimitTests(FewPerPageServer server) : IClassFixture<FewPerPageServer>
{
    [Fact]
    public async Task ALimitAboveMaxMessagesIsServedAsMaxMessagesWithHasMore()
    {
        var group = "few-" + Guid.NewGuid().ToString("N")[..8];
        await using var client = await server.ConnectAsync(HubRoutes.Chat, server.Token("pager"));
        for (var i = 1; i <= 8; i++)
        {
            await client.InvokeAsync<PublishResult>(HubMethods.Publish, group, new PublishRequest { Message = $"m{i}" }).DefaultTimeout();
        }
        await using var sender = await server.ConnectAsync(HubRoutes.SecureChat, server.Token("pete"));
        var owner = "few-owner-" + Guid.NewGuid().ToString("N")[..8];
        await using var ownerHub = await server.ConnectAsync(HubRoutes.SecureChat, server.Token(owner));
        for (var i = 1; i <= 8; i++)
        {
            await sender.InvokeAsync(HubMethods.SendPrivateMessage, owner, $"p{i}").DefaultTimeout();
        }
        using var http = server.Http(server.Token("backend", roles: ["Publisher"]));

        var overHub = await client.InvokeAsync<HistoryPageDto>(HubMethods.GetHistory, group, 0L, 500).DefaultTimeout();
        var largestInt = await client.InvokeAsync<HistoryPageDto>(HubMethods.GetHistory, group, 2L, int.MaxValue).DefaultTimeout();
        var overHttp = await http.GetFromJsonAsync<HistoryPageDto>($"/api/groups/{group}/messages?after=0&limit=500").DefaultTimeout();
        var overHttpHuge = await http.GetFromJsonAsync<HistoryPageDto>($"/api/groups/{group}/messages?limit={long.MaxValue}").DefaultTimeout();
        var privatePage = await ownerHub.InvokeAsync<HistoryPageDto>(HubMethods.GetPrivateHistory, 0L, 500).DefaultTimeout();
        var exact = await client.InvokeAsync<HistoryPageDto>(HubMethods.GetHistory, group, 5L, 3).DefaultTimeout();

        foreach (var page in new[] { overHub, overHttp!, overHttpHuge! })
        {
            Assert.Equal([1L, 2, 3, 4, 5], page.Messages.Select(m => m.Offset));
            Assert.True(page.HasMore);
        }
        Assert.Equal([3L, 4, 5, 6, 7], largestInt.Messages.Select(m => m.Offset));
        Assert.True(largestInt.HasMore);
        Assert.Equal(["p1", "p2", "p3", "p4", "p5"], privatePage.Messages.Select(m => m.Payload));
        Assert.True(privatePage.HasMore);
        Assert.Equal([6L, 7, 8], exact.Messages.Select(m => m.Offset));
        Assert.False(exact.HasMore);
    }

    [Theory]
    [InlineData(0L, 0)]
    [InlineData(0L, -1)]
    [InlineData(-1L, 5)]
    public async Task ALimitBelowOneOrANegativeAfterIsStillRefused(long after, int limit)
    {
        await using var client = await server.ConnectAsync(HubRoutes.Chat, server.Token("pager"));

        var refused = await Assert.ThrowsAsync<HubException>(() =>
            client.InvokeAsync<HistoryPageDto>(HubMethods.GetHistory, "few-refused", after, limit).DefaultTimeout());

        Assert.EndsWith(ErrorCodes.PositionInvalid + ": after must not be negative and limit must be at least 1.", refused.Message);
    }
}
