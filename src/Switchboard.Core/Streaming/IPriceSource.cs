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
/// </summary>
public sealed class RandomWalkPriceSource(TimeProvider time) : IPriceSource
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, PriceState> _prices =
        new(StringComparer.OrdinalIgnoreCase);

    public StockPrice Next(string symbol)
    {
        var state = _prices.GetOrAdd(symbol, static _ => new PriceState(Random.Shared.Next(100, 500)));
        double price;
        lock (state)
        {
            var step = (Random.Shared.NextDouble() * 2 - 1) * 0.01;
            state.Price = Math.Max(1, Math.Round(state.Price * (1 + step), 2));
            price = state.Price;
        }
        return new StockPrice { Symbol = symbol, Price = price, Timestamp = time.GetUtcNow().UtcDateTime };
    }

    private sealed class PriceState(double price)
    {
        public double Price = price;
    }
}
