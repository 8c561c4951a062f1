using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Switchboard.Contracts;
using Switchboard.Core.Connections;
using Switchboard.Server.Tests.Infrastructure;

namespace Switchboard.Server.Tests;

public sealed class TypedChatHubTests(SwitchboardFactory server) : IClassFixture<SwitchboardFactory>
{
    private IConnectionTracker Tracker => server.Get<IConnectionTracker>();

    /// <summary>The next event matching <paramref name="match"/>; stragglers of earlier tests (late disconnects) are skipped.</summary>
    private static async Task<T> NextMatchingAsync<T>(EventLog<T> log, Func<T, bool> match)
    {
        while (true)
        {
            var item = await log.NextAsync();
            if (match(item)) return item;
        }
    }

    [Fact]
    public async Task UserConnectedReachesOthersWithTheConnectionIdAndTokenName()
    {
        await using var watcher = server.Hub(HubRoutes.TypedChat, server.Token("tina", "Tina"));
        var connected = Events.On<string, string>(watcher, ClientEvents.UserConnected);
        await watcher.StartedAsync();
        Assert.Equal((watcher.ConnectionId!, "Tina"), await connected.NextAsync()); // its own arrival

        await using var other = await server.ConnectAsync(HubRoutes.TypedChat, server.Token("u-42", "Ulrich Ü"));

        Assert.Equal((other.ConnectionId!, "Ulrich Ü"), await connected.NextAsync());
    }

    [Fact]
    public async Task UserDisconnectedReachesOthersWhenAClientStops()
    {
        await using var watcher = server.Hub(HubRoutes.TypedChat, server.Token("tina"));
        var disconnected = Events.On<string>(watcher, ClientEvents.UserDisconnected);
        await watcher.StartedAsync();
        await Tracker.UntilRegistered("tina", watcher);
        var other = await server.ConnectAsync(HubRoutes.TypedChat, server.Token("vera"));
        var otherId = other.ConnectionId!;

        await other.StopAsync().DefaultTimeout();

        Assert.Equal(otherId, await NextMatchingAsync(disconnected, id => id == otherId));
        await other.DisposeAsync();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task SendMessageReachesEveryoneUnderTheTokenName(bool messagePack)
    {
        await using var sender = server.Hub(HubRoutes.TypedChat, server.Token("walt", "Walt"), messagePack: messagePack);
        await using var listener = server.Hub(HubRoutes.TypedChat, server.Token("xavi"), messagePack: !messagePack);
        var atSender = Events.On<string, string>(sender, ClientEvents.ReceiveMessage);
        var atListener = Events.On<string, string>(listener, ClientEvents.ReceiveMessage);
        await sender.StartedAsync();
        await listener.StartedAsync();
        await Tracker.UntilRegistered("xavi", listener);

        await sender.InvokeAsync(HubMethods.SendMessage, "hello typed world").DefaultTimeout();

        Assert.Equal(("Walt", "hello typed world"), await atListener.NextAsync());
        Assert.Equal(("Walt", "hello typed world"), await atSender.NextAsync());
    }

    [Theory]
    [InlineData("")]
    [InlineData("  ")]
    [InlineData(null)]
    public async Task AnEmptyMessageIsRefusedWithMessageEmpty(string? message)
    {
        await using var client = await server.ConnectAsync(HubRoutes.TypedChat, server.Token("walt"));

        var error = await Assert.ThrowsAsync<HubException>(() => client.InvokeAsync(HubMethods.SendMessage, message).DefaultTimeout());

        Assert.Contains(ErrorCodes.MessageEmpty + ": ", error.Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task SendToUserReachesEveryConnectionOfThatUserAndNoOneElse(bool messagePack)
    {
        var yanToken = server.Token("yan", "Yan");
        await using var phone = server.Hub(HubRoutes.TypedChat, yanToken, messagePack: messagePack);
        await using var laptop = server.Hub(HubRoutes.TypedChat, yanToken, messagePack: !messagePack);
        await using var outsider = server.Hub(HubRoutes.TypedChat, server.Token("zoe"), messagePack: messagePack);
        var atPhone = Events.On<NotificationDto>(phone, ClientEvents.ReceiveNotification);
        var atLaptop = Events.On<NotificationDto>(laptop, ClientEvents.ReceiveNotification);
        var atOutsider = Events.On<NotificationDto>(outsider, ClientEvents.ReceiveNotification);
        await Task.WhenAll(phone.StartedAsync(), laptop.StartedAsync(), outsider.StartedAsync()).DefaultTimeout();
        await Tracker.UntilRegistered("yan", phone, laptop);
        await Tracker.UntilRegistered("zoe", outsider);
        var sentAt = new DateTime(2024, 1, 2, 3, 4, 5, DateTimeKind.Utc);

        await outsider.InvokeAsync(HubMethods.SendToUser, "yan", new NotificationDto { Message = "for yan", Timestamp = sentAt }).DefaultTimeout();

        foreach (var log in new[] { atPhone, atLaptop })
        {
            var notification = await log.NextAsync();
            Assert.Equal("for yan", notification.Message);
            Assert.Equal(sentAt, notification.Timestamp.ToUniversalTime());
        }
        // Had the outsider received Yan's notification, it would come before this one.
        await phone.InvokeAsync(HubMethods.SendToUser, "zoe", new NotificationDto { Message = "for zoe", Timestamp = sentAt }).DefaultTimeout();
        Assert.Equal("for zoe", (await atOutsider.NextAsync()).Message);
        Assert.Empty(atPhone.Drain());
    }

    [Fact]
    public async Task SendToUserWithoutATimestampIsStampedByTheServer()
    {
        await using var target = server.Hub(HubRoutes.TypedChat, server.Token("amir"));
        var received = Events.On<NotificationDto>(target, ClientEvents.ReceiveNotification);
        await target.StartedAsync();
        var before = DateTime.UtcNow;

        await target.InvokeAsync(HubMethods.SendToUser, "amir", new NotificationDto { Message = "stamp me" }).DefaultTimeout();

        var notification = await received.NextAsync();
        Assert.Equal("stamp me", notification.Message);
        Assert.InRange(notification.Timestamp.ToUniversalTime(), before.AddSeconds(-1), DateTime.UtcNow.AddSeconds(1));
    }

    [Theory]
    [InlineData("")]
    [InlineData("has space")]
    [InlineData("wild*card")]
    [InlineData("slash/ed")]
    [InlineData(null)]
    public async Task AnInvalidUserIdIsRefusedWithUserIdInvalid(string? userId)
    {
        await using var client = await server.ConnectAsync(HubRoutes.TypedChat, server.Token("bea"));

        var error = await Assert.ThrowsAsync<HubException>(() =>
            client.InvokeAsync(HubMethods.SendToUser, userId, new NotificationDto { Message = "x" }).DefaultTimeout());

        Assert.Contains(ErrorCodes.UserIdInvalid + ": ", error.Message);
        Assert.Equal(HubConnectionState.Connected, client.State);
    }

    [Fact]
    public async Task AnOverlongUserIdIsRefusedWithUserIdInvalid()
    {
        await using var client = await server.ConnectAsync(HubRoutes.TypedChat, server.Token("bea"));

        var error = await Assert.ThrowsAsync<HubException>(() =>
            client.InvokeAsync(HubMethods.SendToUser, new string('u', 129), new NotificationDto { Message = "x" }).DefaultTimeout());

        Assert.Contains(ErrorCodes.UserIdInvalid + ": ", error.Message);
    }

    [Fact]
    public async Task AnEmptyNotificationIsRefusedWithMessageEmpty()
    {
        await using var client = await server.ConnectAsync(HubRoutes.TypedChat, server.Token("bea"));

        var blank = await Assert.ThrowsAsync<HubException>(() =>
            client.InvokeAsync(HubMethods.SendToUser, "bea", new NotificationDto { Message = " " }).DefaultTimeout());
        var missing = await Assert.ThrowsAsync<HubException>(() =>
            client.InvokeAsync(HubMethods.SendToUser, "bea", (NotificationDto?)null).DefaultTimeout());

        Assert.Contains(ErrorCodes.MessageEmpty + ": ", blank.Message);
        Assert.Contains(ErrorCodes.MessageEmpty + ": ", missing.Message);
    }
}
