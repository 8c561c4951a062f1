namespace Switchboard.Core.History;

/// <summary>
/// Durable per-group message history: the store behind the publish path and recovery.
/// <list type="bullet">
/// <item>Offsets are assigned by the store, atomically with the append: per group 1, 2, 3, ...
/// with no gaps and no duplicates, even when many callers (or processes, for a shared store)
/// append to one group concurrently.</item>
/// <item><see cref="AppendAsync"/> completes only when the message is durable: once it returns,
/// a crash of the process (kill -9) does not lose the message, its offset or the epoch.</item>
/// <item>Idempotency: appending a message whose <see cref="NewGroupMessage.Id"/> was already
/// appended to the same group within the idempotency window stores nothing and returns the
/// original message with <see cref="AppendResult.Duplicate"/> set.</item>
/// <item>Epoch: a group's epoch is created with its first message and stays the same for the
/// life of its history (restarts included); it changes only when the history was lost or reset.</item>
/// <item>Retention trims old messages (by count per group and by age) but never resets offsets:
/// the next append after a trim continues from the last offset.</item>
/// <item>Reading a group that never had a message returns offset 0 and a stable epoch for it.</item>
/// </list>
/// </summary>
public interface IHistoryStore
{
    ValueTask<AppendResult> AppendAsync(NewGroupMessage message, CancellationToken cancellationToken = default);

    /// <summary>The newest position of <paramref name="group"/>.</summary>
    ValueTask<StreamPosition> GetPositionAsync(string group, CancellationToken cancellationToken = default);

    /// <summary>Messages of <paramref name="group"/> with offset greater than <paramref name="afterOffset"/>, oldest first, at most <paramref name="limit"/>.</summary>
    ValueTask<HistoryPage> ReadAsync(string group, long afterOffset, int limit, CancellationToken cancellationToken = default);

    /// <summary>Applies retention now; returns the number of messages removed. Also runs in the background.</summary>
    ValueTask<int> TrimAsync(CancellationToken cancellationToken = default);
}
