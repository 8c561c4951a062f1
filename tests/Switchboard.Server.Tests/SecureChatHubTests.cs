using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Switchboard.Contracts;
using Switchboard.Server.Tests.Infrastructure;

namespace Switchboard.Server.Tests;

public sealed class SecureChatHubTests(SwitchboardFactory server) : IClassFixture<SwitchboardFactory>
{
    [Fact]
    public async Task AdminMessagesReachEveryone()
    {
        await using var admin = await server.ConnectAsync(HubRoutes.SecureChat, server.Token("root", "Root", ["Admin"]));
        await using var listener = server.Hub(HubRoutes.SecureChat, server.Token("lena"));
        var received = Events.On<string>(listener, ClientEvents.AdminMessage);
        await listener.StartedAsync();

        await admin.InvokeAsync(HubMethods.SendAdminMessage, "maintenance at noon").DefaultTimeout();

        Assert.Equal("maintenance at noon", await received.NextAsync());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("Publisher")]
    public async Task NonAdminsCannotSendAdminMessages(string? role)
    {
        string[] roles = role is null ? [] : [role];
        await using var user = server.Hub(HubRoutes.SecureChat, server.Token("mike", roles: roles));
        var received = Events.On<string>(user, ClientEvents.AdminMessage);
        await user.StartedAsync();

        var error = await Assert.ThrowsAsync<HubException>(() => user.InvokeAsync(HubMethods.SendAdminMessage, "I am root").DefaultTimeout());

        Assert.Contains("permission_denied: SendAdminMessage needs a role the caller does not have.", error.Message);
        Assert.Equal(HubConnectionState.Connected, user.State);
        Assert.Empty(received.Drain());
    }

    [Fact]
    public async Task PrivateMessagesReachEveryConnectionOfTheTargetAndNobodyElse()
    {
        await using var sender = await server.ConnectAsync(HubRoutes.SecureChat, server.Token("nina", "Nina"));
        await using var phone = server.Hub(HubRoutes.SecureChat, server.Token("oscar"));
        await using var laptop = server.Hub(HubRoutes.SecureChat, server.Token("oscar"));
        await using var bystander = server.Hub(HubRoutes.SecureChat, server.Token("pat"));
        var atPhone = Events.On<string, string>(phone, ClientEvents.PrivateMessage);
        var atLaptop = Events.On<string, string>(laptop, ClientEvents.PrivateMessage);
        var atBystander = Events.On<string, string>(bystander, ClientEvents.PrivateMessage);
        await Task.WhenAll(phone.StartedAsync(), laptop.StartedAsync(), bystander.StartedAsync()).DefaultTimeout();

        await sender.InvokeAsync(HubMethods.SendPrivateMessage, "oscar", "psst").DefaultTimeout();

        Assert.Equal(("nina", "psst"), await atPhone.NextAsync());
        Assert.Equal(("nina", "psst"), await atLaptop.NextAsync());
        // The bystander then gets one of its own; had the first reached it, that would come first.
        await sender.InvokeAsync(HubMethods.SendPrivateMessage, "pat", "only you").DefaultTimeout();
        Assert.Equal(("nina", "only you"), await atBystander.NextAsync());
    }

    [Theory]
    [InlineData("", ErrorCodes.UserIdInvalid)]
    [InlineData("a b", ErrorCodes.UserIdInvalid)]
    public async Task PrivateMessagesToInvalidUserIdsAreRefused(string target, string code)
    {
        await using var sender = await server.ConnectAsync(HubRoutes.SecureChat, server.Token("quinn"));
        var error = await Assert.ThrowsAsync<HubException>(() => sender.InvokeAsync(HubMethods.SendPrivateMessage, target, "hi").DefaultTimeout());
        Assert.Contains(code, error.Message);
    }

    [Fact]
    public async Task OtherUsersPrivateGroupsCannotBeJoinedFromTheChatHub()
    {
        await using var eve = await server.ConnectAsync(HubRoutes.Chat, server.Token("eve"));
        var error = await Assert.ThrowsAsync<HubException>(() => eve.InvokeAsync(HubMethods.JoinGroup, "user:oscar").DefaultTimeout());
        Assert.Contains(ErrorCodes.GroupNameReserved, error.Message);
    }
}
