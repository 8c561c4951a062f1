using Microsoft.Extensions.Logging;

namespace Switchboard.Core.History;

/// <summary>History store log messages. Payloads, sender names and group names are never logged.</summary>
internal static partial class HistoryLog
{
    [LoggerMessage(2001, LogLevel.Information, "History store opened {Path} (WAL journal, durability {Durability}).")]
    public static partial void Opened(ILogger logger, string path, HistoryDurability durability);

    [LoggerMessage(2002, LogLevel.Information, "History store closed {Path}.")]
    public static partial void Closed(ILogger logger, string path);

    [LoggerMessage(2003, LogLevel.Error, "A history batch of {Count} appends failed to commit; none of them was stored and their callers got the error.")]
    public static partial void BatchFailed(ILogger logger, Exception exception, int count);

    [LoggerMessage(2004, LogLevel.Warning, "Closing the history writer connection after an error failed; a new connection will be opened.")]
    public static partial void WriterResetFailed(ILogger logger, Exception exception);

    [LoggerMessage(2005, LogLevel.Debug, "History retention removed {Removed} messages across {Groups} groups.")]
    public static partial void Trimmed(ILogger logger, int removed, int groups);

    [LoggerMessage(2006, LogLevel.Error, "History retention failed; it runs again in {Interval}.")]
    public static partial void TrimFailed(ILogger logger, Exception exception, TimeSpan interval);

    [LoggerMessage(2007, LogLevel.Warning, "History {Path} was not closed before the machine restarted, with Durability ProcessCrash: its last acknowledged messages may be lost, so every group ({Groups} stored) starts a new epoch and clients that recover are told recovered: false.")]
    public static partial void EpochsRenewed(ILogger logger, string path, int groups);
}
