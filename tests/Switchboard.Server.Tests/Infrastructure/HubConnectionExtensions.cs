using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;

namespace Switchboard.Server.Tests.Infrastructure;

public static class HubConnectionExtensions
{
    /// <summary>
    /// Starts the connection and returns once the server has finished connecting it. SignalR
    /// completes the client's start with the handshake, before the server's OnConnectedAsync
    /// (user groups, tracking, presence) has run; the server answers invocations only after it,
    /// so one round trip to a method that does not exist is a barrier.
    /// </summary>
    public static async Task StartedAsync(this HubConnection connection)
    {
        await connection.StartAsync().DefaultTimeout();
        try
        {
            await connection.InvokeAsync("__barrier").DefaultTimeout();
        }
        catch (HubException)
        {
            // "Method does not exist": expected, and only sent after OnConnectedAsync.
        }
    }
}
