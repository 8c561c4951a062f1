namespace Switchboard.Core.History;

/// <summary>The outcome of a recovery or first subscription, before it is put on the wire.</summary>
public sealed record RecoveryResult(StreamPosition Top, bool Recovered, bool HasMore, IReadOnlyList<GroupMessage> Messages);

/// <summary>
/// Reads what a (re)subscribing client needs from history. Callers add the connection to the
/// group first and read afterwards, so nothing published in between is missed; the client
/// drops what it already has by offset.
/// </summary>
public static class Recovery
{
    /// <summary>
    /// With no <paramref name="sinceOffset"/>: the group's position and its last
    /// <paramref name="lastN"/> messages, <c>Recovered = false</c> (there was nothing to recover).
    /// With one: every message after it, capped at <paramref name="maxMessages"/> and about
    /// <paramref name="maxCharacters"/> of payload (the rest is paged with <see cref="IHistoryStore.ReadAsync"/>),
    /// and <c>Recovered = true</c>; or <c>Recovered = false</c> and no messages when the epoch
    /// differs, the offset is ahead of the group, or part of the gap was trimmed away.
    /// </summary>
    public static async Task<RecoveryResult> RecoverAsync(IHistoryStore history, string group, long? sinceOffset, string? epoch,
        int lastN, int maxMessages, int maxCharacters, CancellationToken cancellationToken = default)
    {
        if (sinceOffset is null)
        {
            var top = await history.GetPositionAsync(group, cancellationToken);
            if (lastN <= 0)
            {
                return new RecoveryResult(top, Recovered: false, HasMore: false, []);
            }
            var last = await history.ReadAsync(group, Math.Max(0, top.Offset - lastN), lastN, cancellationToken);
            return new RecoveryResult(last.Top, Recovered: false, HasMore: false, last.Messages);
        }

        var page = await history.ReadAsync(group, sinceOffset.Value, maxMessages, cancellationToken);
        if (epoch != page.Top.Epoch || sinceOffset > page.Top.Offset || sinceOffset + 1 < page.FirstRetained)
        {
            return new RecoveryResult(page.Top, Recovered: false, HasMore: false, []);
        }
        var messages = CapBySize(page.Messages, maxCharacters);
        var hasMore = messages.Count < page.Messages.Count || page.HasMore;
        return new RecoveryResult(page.Top, Recovered: true, hasMore, messages);
    }

    /// <summary>
    /// A page of history asked for by a caller (<c>GetHistory</c>, the history API): the messages
    /// after <paramref name="afterOffset"/>, at most <paramref name="limit"/>, cut to about
    /// <paramref name="maxCharacters"/> of payload (always at least one message) as a recovery
    /// answer is, so that whoever asks for pages cannot make one answer larger.
    /// <see cref="HistoryPage.HasMore"/> follows from the messages kept.
    /// </summary>
    public static async Task<HistoryPage> ReadPageAsync(IHistoryStore history, string group, long afterOffset, int limit,
        int maxCharacters, CancellationToken cancellationToken = default)
    {
        var page = await history.ReadAsync(group, afterOffset, limit, cancellationToken);
        var messages = CapBySize(page.Messages, maxCharacters);
        return ReferenceEquals(messages, page.Messages) ? page : page with { Messages = messages };
    }

    /// <summary>The longest prefix within <paramref name="maxCharacters"/> of payload, but always at least one message.</summary>
    public static IReadOnlyList<GroupMessage> CapBySize(IReadOnlyList<GroupMessage> messages, int maxCharacters)
    {
        var total = 0L;
        for (var i = 0; i < messages.Count; i++)
        {
            total += messages[i].Payload.Length;
            if (total > maxCharacters && i > 0)
            {
                return messages.Take(i).ToList();
            }
        }
        return messages;
    }
}
