using Switchboard.Contracts;

namespace Switchboard.Core.Streaming;

/// <summary>
/// Where <c>StreamStockPrices</c> gets its prices. Implementations must be thread-safe: many
/// streams ask for the same symbol concurrently.
/// </summary>
public interface IPriceSource
{
    /// <summary>The current price of <paramref name="symbol"/>, time-stamped now.</summary>
    StockPrice Next(string symbol);
}

/// <summary>
/// The default price source: a simulated random walk per symbol (each tick moves the price by
/// at most 1% and never below 1.00), starting between 100 and 500 as the guide's prices do.
/// Not a market feed; replace it by registering another <see cref="IPriceSource"/>.
/// <para>
/// Symbols are the callers' choice, so the walks kept are bounded: past <see cref="Capacity"/>
/// symbols, those no stream asked for in the last <see cref="IdleAfter"/> are forgotten (a
/// symbol asked for again starts a new walk), and if that is not enough, all of them.
/// </para>
/// </summary>
public sealed class RandomWalkPriceSource(TimeProvider time) : IPriceSource
{
    /// <summary>Most symbols whose walk is kept.</summary>
    public const int Capacity = 10_000;

    /// <summary>How long a symbol no stream asks for is kept once the source is full.</summary>
    public static readonly TimeSpan IdleAfter = TimeSpan.FromMinutes(1);

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, PriceState> _prices =
        new(StringComparer.OrdinalIgnoreCase);
    private readonly Lock _pruneLock = new();

    /// <summary>Symbols whose walk is kept now.</summary>
    public int Count => _prices.Count;

    public StockPrice Next(string symbol)
    {
        var now = time.GetUtcNow();
        if (!_prices.TryGetValue(symbol, out var state))
        {
            state = _prices.GetOrAdd(symbol, static (_, now) => new PriceState(Random.Shared.Next(100, 500), now), now);
            if (_prices.Count > Capacity)
            {
                Prune(now);
            }
        }
        double price;
        lock (state)
        {
            var step = (Random.Shared.NextDouble() * 2 - 1) * 0.01;
            state.Price = Math.Max(1, Math.Round(state.Price * (1 + step), 2));
            state.LastAsked = now;
            price = state.Price;
        }
        return new StockPrice { Symbol = symbol, Price = price, Timestamp = now.UtcDateTime };
    }

    private void Prune(DateTimeOffset now)
    {
        lock (_pruneLock)
        {
            if (_prices.Count <= Capacity)
            {
                return;
            }
            foreach (var (symbol, state) in _prices)
            {
                bool idle;
                lock (state) idle = now - state.LastAsked > IdleAfter;
                if (idle)
                {
                    _prices.TryRemove(symbol, out _);
                }
            }
            if (_prices.Count > Capacity)
            {
                _prices.Clear(); // every symbol in use: the walks start again, which a simulation can afford
            }
        }
    }

    private sealed class PriceState(double price, DateTimeOffset created)
    {
        public double Price = price;
        public DateTimeOffset LastAsked = created;
    }
}
