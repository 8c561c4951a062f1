using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Switchboard.Core.Tests;

/// <summary>A logger that keeps what it is given, so tests can check what was (not) logged.</summary>
public sealed class ListLogger<T> : ILogger<T>
{
    public ConcurrentQueue<LogEntry> Entries { get; } = new();

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        Entries.Enqueue(new LogEntry(logLevel, eventId, formatter(state, exception), exception));
}

public sealed record LogEntry(LogLevel Level, EventId EventId, string Message, Exception? Exception)
{
    /// <summary>Everything this entry would put in a log sink.</summary>
    public override string ToString() => $"{Level} {EventId} {Message} {Exception}";
}
