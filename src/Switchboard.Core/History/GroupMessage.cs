namespace Switchboard.Core.History;

/// <summary>
/// A published group message as stored and delivered: the envelope. <see cref="Offset"/> is the
/// message's position in its group's history (1, 2, 3, ... with no gaps); <see cref="Epoch"/>
/// identifies that history and changes only when it was lost or reset, so an offset is
/// meaningful only together with its epoch.
/// </summary>
public sealed record GroupMessage(
    string Id,
    string Group,
    long Offset,
    string Epoch,
    string? SenderId,
    string? SenderName,
    DateTime Timestamp,
    string Payload);

/// <summary>A message to append: everything but its position, which the store assigns.</summary>
/// <param name="Idempotent">
/// True when <see cref="Id"/> was chosen by the client and a repeat must be recognised. False for
/// ids the server generated (fresh, so there is nothing to look up): the store skips the check.
/// </param>
public sealed record NewGroupMessage(
    string Id,
    string Group,
    string? SenderId,
    string? SenderName,
    DateTime Timestamp,
    string Payload,
    bool Idempotent = true);

/// <summary>The newest position of a group's history: its last offset (0 when nothing was ever published) and its epoch.</summary>
public readonly record struct StreamPosition(long Offset, string Epoch);

/// <summary>The outcome of an append.</summary>
/// <param name="Message">The stored message; for a duplicate, the one stored the first time.</param>
/// <param name="Duplicate">True when the id was already appended to this group within the idempotency window; nothing was stored.</param>
public readonly record struct AppendResult(GroupMessage Message, bool Duplicate);

/// <summary>A page of history.</summary>
/// <param name="Top">The group's newest position when the page was read.</param>
/// <param name="FirstRetained">The lowest offset still stored, or <c>Top.Offset + 1</c> when none is.</param>
/// <param name="Messages">Messages after the requested offset, in offset order, at most the requested count.</param>
public sealed record HistoryPage(StreamPosition Top, long FirstRetained, IReadOnlyList<GroupMessage> Messages)
{
    /// <summary>True when messages after the last one in this page exist.</summary>
    public bool HasMore => (Messages.Count > 0 ? Messages[^1].Offset : Top.Offset) < Top.Offset;
}
