using Microsoft.AspNetCore.SignalR.Client;
using Switchboard.Contracts;
using Switchboard.Server.Tests.Infrastructure;

namespace Switchboard.Server.Tests.Hostile;

/// <summary>
/// The healthy neighbour every hostile case keeps open: two official clients in a group of their
/// own, one sending and one receiving. <see cref="AssertHealthyAsync"/> checks that the receiver
/// is still the same connection, never dropped, and gets every message sent so far, in order.
/// </summary>
public sealed class Control : IAsyncDisposable
{
    private readonly HubConnection _sender;
    private readonly HubConnection _receiver;
    private readonly EventLog<(string User, string Message)> _received;
    private readonly string _group = "control-" + Guid.NewGuid().ToString("N")[..8];
    private readonly string _receiverId;
    private int _sent;

    private Control(HubConnection sender, HubConnection receiver, EventLog<(string, string)> received)
    {
        _sender = sender;
        _receiver = receiver;
        _received = received;
        _receiverId = receiver.ConnectionId!;
    }

    public static async Task<Control> StartAsync(Func<string, string> token, Func<string, string?, HubConnection> hub)
    {
        var sender = hub(HubRoutes.Chat, token("control-sender"));
        var receiver = hub(HubRoutes.Chat, token("control-receiver"));
        var received = Events.On<string, string>(receiver, ClientEvents.ReceiveMessage);
        await sender.StartedAsync();
        await receiver.StartedAsync();
        var control = new Control(sender, receiver, received);
        await receiver.InvokeAsync(HubMethods.JoinGroup, control._group).DefaultTimeout();
        await control.AssertHealthyAsync();
        return control;
    }

    /// <summary>Sends <paramref name="count"/> more messages and checks each arrives, on the same connection.</summary>
    public async Task AssertHealthyAsync(int count = 3)
    {
        for (var i = 0; i < count; i++)
        {
            await _sender.InvokeAsync(HubMethods.SendMessageToGroup, _group, "control", $"control {_sent + i}").DefaultTimeout();
        }
        for (var i = 0; i < count; i++)
        {
            // Only messages of this group reach ReceiveMessage on the receiver (nobody broadcasts here).
            var (_, message) = await _received.NextAsync();
            Assert.Equal($"control {_sent + i}", message);
        }
        _sent += count;
        Assert.Equal(HubConnectionState.Connected, _receiver.State);
        Assert.Equal(_receiverId, _receiver.ConnectionId);
    }

    public async ValueTask DisposeAsync()
    {
        await _sender.DisposeAsync();
        await _receiver.DisposeAsync();
    }
}
