using System.Threading.Channels;
using Microsoft.AspNetCore.SignalR.Client;

namespace Switchboard.Server.Tests.Infrastructure;

/// <summary>Starts recording a client event: <c>Events.On&lt;string, string&gt;(connection, "ReceiveMessage")</c>.</summary>
public static class Events
{
    public static EventLog<T> On<T>(HubConnection connection, string eventName)
    {
        var log = new EventLog<T>();
        connection.On<T>(eventName, log.Add);
        return log;
    }

    public static EventLog<(TA, TB)> On<TA, TB>(HubConnection connection, string eventName)
    {
        var log = new EventLog<(TA, TB)>();
        connection.On<TA, TB>(eventName, (a, b) => log.Add((a, b)));
        return log;
    }
}

/// <summary>
/// Records one client event into a queue so a test can await the next occurrence with a
/// timeout, and assert that nothing (more) arrived.
/// </summary>
public sealed class EventLog<T>
{
    private readonly Channel<T> _items = Channel.CreateUnbounded<T>();

    public void Add(T item) => _items.Writer.TryWrite(item);

    /// <summary>The next event, waiting at most <see cref="TestTimeouts.Network"/>.</summary>
    public async Task<T> NextAsync()
    {
        using var cts = new CancellationTokenSource(TestTimeouts.Network);
        try
        {
            return await _items.Reader.ReadAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"No {typeof(T).Name} event arrived within {TestTimeouts.Network}.");
        }
    }

    /// <summary>Events that already arrived, without waiting.</summary>
    public List<T> Drain()
    {
        var list = new List<T>();
        while (_items.Reader.TryRead(out var item)) list.Add(item);
        return list;
    }
}
