namespace Switchboard.Core.History;

/// <summary>History settings, bound from <c>Switchboard:History</c>.</summary>
public sealed class HistoryOptions
{
    public const string Section = "Switchboard:History";

    /// <summary>
    /// Durable history on (default true). Off, messages are still numbered and delivered but not
    /// stored: no recovery, no idempotency, nothing survives a restart (<see cref="DisabledHistoryStore"/>).
    /// </summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Folder of the embedded database file (created when missing). Default <c>data</c>, relative to the working directory.</summary>
    public string DataFolder { get; set; } = "data";

    /// <summary>Name of the SQLite file inside <see cref="DataFolder"/>. Default <c>switchboard.db</c>.</summary>
    public string FileName { get; set; } = "switchboard.db";

    /// <summary>Most messages kept per group; older ones are trimmed. Default 10000.</summary>
    public int MaxMessagesPerGroup { get; set; } = 10_000;

    /// <summary>Oldest message kept; older ones are trimmed. Default 24 hours.</summary>
    public TimeSpan MaxAge { get; set; } = TimeSpan.FromHours(24);

    /// <summary>How often retention runs in the background. Default 30 seconds.</summary>
    public TimeSpan TrimInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a message id is remembered for idempotent publish. Default 5 minutes.</summary>
    public TimeSpan IdempotencyWindow { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// What an acknowledged message survives. <see cref="HistoryDurability.PowerLoss"/> (default):
    /// every batch is fsynced before it is acknowledged (<c>synchronous=FULL</c>). <see cref="HistoryDurability.ProcessCrash"/>:
    /// a crash or kill -9 of the server loses nothing acknowledged; a power cut or kernel panic may
    /// lose the last commits (SQLite WAL with <c>synchronous=NORMAL</c>), for a somewhat higher publish rate.
    /// </summary>
    public HistoryDurability Durability { get; set; } = HistoryDurability.PowerLoss;

    /// <summary>Most appends committed in one transaction. Default 512.</summary>
    public int MaxBatchSize { get; set; } = 512;
}

/// <summary>What an acknowledged message survives; see <see cref="HistoryOptions.Durability"/>.</summary>
public enum HistoryDurability
{
    ProcessCrash,
    PowerLoss,
}
