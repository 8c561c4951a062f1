using System.Collections.Concurrent;

namespace Switchboard.Core.History;

/// <summary>
/// What the publish path uses when history is switched off (<c>Switchboard:History:Enabled</c> =
/// false): offsets are still counted, in memory, so envelopes keep their order and gap detection
/// works on the live path, but nothing is stored and nothing is durable. The epoch is new with
/// every process, reads return no messages, and every recovery answers <c>recovered: false</c>.
/// Duplicate ids are not detected. It deliberately does not meet the durability and
/// idempotency promises of <see cref="IHistoryStore"/>: it exists to run Switchboard as a plain
/// live fan-out server, and to measure what durable history costs.
/// </summary>
public sealed class DisabledHistoryStore : IHistoryStore
{
    private readonly string _epoch = Guid.NewGuid().ToString("N")[..16];
    private readonly ConcurrentDictionary<string, StrongBox> _offsets = new(StringComparer.Ordinal);

    public ValueTask<AppendResult> AppendAsync(NewGroupMessage message, CancellationToken cancellationToken = default)
    {
        var offset = Interlocked.Increment(ref _offsets.GetOrAdd(message.Group, static _ => new StrongBox()).Value);
        return ValueTask.FromResult(new AppendResult(new GroupMessage(message.Id, message.Group, offset, _epoch,
            message.SenderId, message.SenderName, message.Timestamp, message.Payload), Duplicate: false));
    }

    public ValueTask<StreamPosition> GetPositionAsync(string group, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(new StreamPosition(Top(group), _epoch));

    public ValueTask<HistoryPage> ReadAsync(string group, long afterOffset, int limit, CancellationToken cancellationToken = default)
    {
        var top = Top(group);
        return ValueTask.FromResult(new HistoryPage(new StreamPosition(top, _epoch), top + 1, []));
    }

    public ValueTask<int> TrimAsync(CancellationToken cancellationToken = default) => ValueTask.FromResult(0);

    private long Top(string group) => _offsets.TryGetValue(group, out var box) ? Volatile.Read(ref box.Value) : 0;

    private sealed class StrongBox
    {
        public long Value;
    }
}
