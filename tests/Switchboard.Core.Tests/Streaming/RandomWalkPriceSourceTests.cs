using Switchboard.Core.Streaming;
using Switchboard.Core.Tests.History;

namespace Switchboard.Core.Tests.Streaming;

/// <summary>The default price source keeps a walk per symbol, and symbols are the callers' choice: it must stay bounded.</summary>
public sealed class RandomWalkPriceSourceTests
{
    [Fact]
    public void SymbolsNobodyAsksForAnyMoreAreForgottenOnceTheSourceIsFull()
    {
        var time = new ManualTimeProvider(new DateTimeOffset(2026, 12, 3, 9, 0, 0, TimeSpan.Zero));
        var source = new RandomWalkPriceSource(time);
        for (var i = 0; i < RandomWalkPriceSource.Capacity; i++) source.Next($"OLD{i}");
        time.Advance(RandomWalkPriceSource.IdleAfter + TimeSpan.FromSeconds(1));
        var live = source.Next("LIVE");

        for (var i = 0; i < 500; i++) source.Next($"NEW{i}");

        Assert.Equal(501, source.Count); // the idle ones went; the live one and the new ones stay
        var next = source.Next("LIVE");
        Assert.InRange(next.Price, live.Price * 0.99 - 0.01, live.Price * 1.01 + 0.01); // its walk went on
    }

    [Fact]
    public void ASourceFullOfSymbolsInUseStartsAgainRatherThanGrow()
    {
        var source = new RandomWalkPriceSource(TimeProvider.System);
        for (var i = 0; i <= RandomWalkPriceSource.Capacity + 10; i++) source.Next($"S{i}");

        Assert.True(source.Count <= RandomWalkPriceSource.Capacity, $"{source.Count} symbols kept");
    }
}
