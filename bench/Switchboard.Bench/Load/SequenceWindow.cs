namespace Switchboard.Bench.Load;

/// <summary>How one arrival relates to the ones before it on the same stream at the same receiver.</summary>
internal enum Arrival
{
    /// <summary>The next sequence number: seq = last + 1.</summary>
    InOrder,

    /// <summary>New, but past a gap: some earlier numbers have not arrived (yet).</summary>
    AfterGap,

    /// <summary>New, but a later number arrived first: reordered.</summary>
    Late,

    /// <summary>Seen before.</summary>
    Duplicate,
}

/// <summary>
/// Classifies the arrivals of one stream at one receiver by sequence number (1, 2, 3, ...): the
/// highest number seen and a 64-bit mask of which of the 64 numbers at and below it were seen
/// (the anti-replay window of IPsec). A number more than 63 below the highest cannot be told
/// from a duplicate and counts as late; reordering that deep does not happen on one connection.
/// </summary>
internal struct SequenceWindow
{
    private long _highest;
    private ulong _seen; // bit i: _highest - i was seen

    public readonly long Highest => _highest;

    public Arrival Observe(long seq)
    {
        if (seq > _highest)
        {
            var shift = seq - _highest;
            var arrival = shift == 1 ? Arrival.InOrder : Arrival.AfterGap;
            _seen = shift >= 64 ? 1UL : (_seen << (int)shift) | 1UL;
            _highest = seq;
            return arrival;
        }
        var back = _highest - seq;
        if (back >= 64) return Arrival.Late;
        var bit = 1UL << (int)back;
        if ((_seen & bit) != 0) return Arrival.Duplicate;
        _seen |= bit;
        return Arrival.Late;
    }
}
