using CsCheck;
using Switchboard.Core.History;

namespace Switchboard.Core.Tests.Properties;

/// <summary>How a recovery answer is cut to size (<see cref="Recovery.CapBySize"/>).</summary>
public sealed class RecoveryProperties
{
    private static readonly Gen<GroupMessage[]> Pages =
        Gen.Int[0, 2_000].Array[0, 60].Select(lengths => lengths.Select((n, i) =>
            new GroupMessage($"id{i}", "g", i + 1, "e", "s", "S", DateTime.UnixEpoch, new string('x', n))).ToArray());

    [Fact]
    public void TheCutIsTheLongestPrefixWithinTheLimitAndNeverEmpty() =>
        Gen.Select(Pages, Gen.Int[1, 20_000]).Sample((page, max) =>
        {
            var cut = Recovery.CapBySize(page, max);

            Assert.Equal(page.Take(cut.Count), cut); // a prefix, in order
            if (page.Length == 0) { Assert.Empty(cut); return; }
            Assert.NotEmpty(cut); // at least one message, however large
            var total = cut.Sum(m => (long)m.Payload.Length);
            Assert.True(cut.Count == 1 || total <= max);
            if (cut.Count < page.Length) Assert.True(total + page[cut.Count].Payload.Length > max); // the longest such prefix
        }, iter: Fuzz.Iter);
}
