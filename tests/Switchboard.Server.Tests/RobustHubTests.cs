using System.Text.Json;
using Microsoft.AspNetCore.SignalR.Client;
using Switchboard.Contracts;
using Switchboard.Core.Connections;
using Switchboard.Server.Tests.Infrastructure;

namespace Switchboard.Server.Tests;

/// <summary>A server whose messages may be at most 100 characters long.</summary>
public sealed class ShortMessagesServer() : SwitchboardFactoryWith(new() { ["Switchboard:MaxMessageLength"] = "100" });

public sealed class RobustHubTests(ShortMessagesServer server) : IClassFixture<ShortMessagesServer>
{
    private async Task<(HubConnection Sender, HubConnection Listener, EventLog<(string, string)> AtSender, EventLog<(string, string)> AtListener)>
        ConnectPairAsync(bool messagePack)
    {
        var sender = server.Hub(HubRoutes.Robust, server.Token("rob", "Rob Sender"), messagePack: messagePack);
        var listener = server.Hub(HubRoutes.Robust, server.Token("lisa", "Lisa"), messagePack: messagePack);
        var atSender = Events.On<string, string>(sender, ClientEvents.ReceiveMessage);
        var atListener = Events.On<string, string>(listener, ClientEvents.ReceiveMessage);
        await sender.StartedAsync();
        await listener.StartedAsync();
        await server.Get<IConnectionTracker>().UntilRegistered("lisa", listener);
        return (sender, listener, atSender, atListener);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AValidMessageSucceedsAndReachesEveryoneUnderTheTokenName(bool messagePack)
    {
        var (sender, listener, atSender, atListener) = await ConnectPairAsync(messagePack);
        await using var _ = sender;
        await using var __ = listener;

        var result = await sender.InvokeAsync<Result>(HubMethods.SendMessage, new MessageRequest { Message = "hi" }).DefaultTimeout();

        Assert.True(result.IsSuccess);
        Assert.Null(result.Error);
        Assert.Null(result.Code);
        Assert.Equal(("Rob Sender", "hi"), await atListener.NextAsync());
        Assert.Equal(("Rob Sender", "hi"), await atSender.NextAsync());
    }

    public static TheoryData<string?, bool> EmptyMessages() => new()
    {
        { "", false }, { "   ", false }, { "\t\n", false }, { null, false },
        { "", true }, { "   ", true }, { null, true },
    };

    [Theory]
    [MemberData(nameof(EmptyMessages))]
    public async Task AnEmptyMessageFailsWithMessageEmptyAndIsNotBroadcast(string? message, bool messagePack)
    {
        var (sender, listener, _, atListener) = await ConnectPairAsync(messagePack);
        await using var _s = sender;
        await using var _l = listener;

        var result = await sender.InvokeAsync<Result>(HubMethods.SendMessage, new MessageRequest { Message = message }).DefaultTimeout();

        Assert.False(result.IsSuccess);
        Assert.Equal(ErrorCodes.MessageEmpty, result.Code);
        Assert.Equal("Message cannot be empty.", result.Error);
        // Nothing was broadcast: the first message the listener sees is the next valid one.
        await sender.InvokeAsync<Result>(HubMethods.SendMessage, new MessageRequest { Message = "after" }).DefaultTimeout();
        Assert.Equal(("Rob Sender", "after"), await atListener.NextAsync());
    }

    [Fact]
    public async Task AMissingRequestFailsWithMessageEmptyRatherThanThrowing()
    {
        await using var client = await server.ConnectAsync(HubRoutes.Robust, server.Token("rob"));

        var result = await client.InvokeAsync<Result>(HubMethods.SendMessage, (MessageRequest?)null).DefaultTimeout();

        Assert.False(result.IsSuccess);
        Assert.Equal(ErrorCodes.MessageEmpty, result.Code);
        Assert.Equal(HubConnectionState.Connected, client.State);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AMessageOverTheConfiguredLimitFailsWithMessageTooLongAndIsNotBroadcast(bool messagePack)
    {
        var (sender, listener, _, atListener) = await ConnectPairAsync(messagePack);
        await using var _s = sender;
        await using var _l = listener;

        var tooLong = await sender.InvokeAsync<Result>(HubMethods.SendMessage, new MessageRequest { Message = new string('x', 101) }).DefaultTimeout();
        var atLimit = await sender.InvokeAsync<Result>(HubMethods.SendMessage, new MessageRequest { Message = new string('y', 100) }).DefaultTimeout();

        Assert.False(tooLong.IsSuccess);
        Assert.Equal(ErrorCodes.MessageTooLong, tooLong.Code);
        Assert.Contains("100", tooLong.Error);
        Assert.True(atLimit.IsSuccess);
        Assert.Equal(("Rob Sender", new string('y', 100)), await atListener.NextAsync());
    }

    [Fact]
    public async Task ATokenWithoutANameIsKnownByItsUserId()
    {
        await using var client = await server.ConnectAsync(HubRoutes.Robust, server.Token("nameless-7"));
        var received = Events.On<string, string>(client, ClientEvents.ReceiveMessage);

        await client.InvokeAsync<Result>(HubMethods.SendMessage, new MessageRequest { Message = "who am i" }).DefaultTimeout();

        Assert.Equal(("nameless-7", "who am i"), await received.NextAsync());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task TheWireNamesAreCamelCaseInBothProtocols(bool messagePack)
    {
        // Plain maps instead of the contract types: only the names on the wire can make these bind.
        await using var client = await server.ConnectAsync(HubRoutes.Robust, server.Token("rob", "Rob"), messagePack: messagePack);
        var received = Events.On<string, string>(client, ClientEvents.ReceiveMessage);

        var success = await client.InvokeAsync<Dictionary<string, object?>>(HubMethods.SendMessage,
            new Dictionary<string, object?> { ["message"] = "by name" }).DefaultTimeout();
        var failure = await client.InvokeAsync<Dictionary<string, object?>>(HubMethods.SendMessage,
            new Dictionary<string, object?> { ["message"] = " " }).DefaultTimeout();

        Assert.Equal(("Rob", "by name"), await received.NextAsync());
        Assert.Equal("True", Text(success["isSuccess"]));
        Assert.Equal(["code", "error", "isSuccess"], failure.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("False", Text(failure["isSuccess"]));
        Assert.Equal(ErrorCodes.MessageEmpty, Text(failure["code"]));
        Assert.Equal("Message cannot be empty.", Text(failure["error"]));
    }

    private static string? Text(object? value) => value switch
    {
        JsonElement { ValueKind: JsonValueKind.True } => "True",
        JsonElement { ValueKind: JsonValueKind.False } => "False",
        JsonElement element => element.GetString(),
        _ => value?.ToString(),
    };
}
