using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Switchboard.Contracts;
using Switchboard.Core.Streaming;
using Switchboard.Server.Tests.Infrastructure;

namespace Switchboard.Server.Tests;

/// <summary>A server whose price stream ticks every 50 ms instead of every second.</summary>
public sealed class FastPricesServer() : SwitchboardFactoryWith(new() { ["Switchboard:Streaming:PriceInterval"] = "00:00:00.050" });

public sealed class StreamingHubTests(FastPricesServer server) : IClassFixture<FastPricesServer>
{
    private static readonly string[] Symbols = ["AAPL", "GOOGL", "MSFT"];

    private ActiveStreams Active => server.Get<ActiveStreams>();

    [Fact]
    public async Task StreamCounterYieldsZeroToCountMinusOneAndCompletes()
    {
        await using var client = await server.ConnectAsync(HubRoutes.Streaming, server.Token("stella"));

        var items = await client.StreamAsync<int>(HubMethods.StreamCounter, 5, 10).ToListAsync().DefaultTimeout();

        Assert.Equal([0, 1, 2, 3, 4], items);
        await TestTimeouts.Eventually(() => Active.Downloads == 0, "the finished counter loop is no longer counted");
    }

    [Fact]
    public async Task StreamCounterWithCountZeroCompletesEmpty()
    {
        await using var client = await server.ConnectAsync(HubRoutes.Streaming, server.Token("stella"));

        var items = await client.StreamAsync<int>(HubMethods.StreamCounter, 0, 0).ToListAsync().DefaultTimeout();

        Assert.Empty(items);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task StockPricesArriveForEverySymbolWithSaneValuesAndTimestamps(bool messagePack)
    {
        await using var client = await server.ConnectAsync(HubRoutes.Streaming, server.Token("stella"), messagePack: messagePack);
        var before = DateTime.UtcNow;

        // Three rounds of three symbols; at 50 ms a round this takes well under a second.
        var prices = await client.TakeAsync<StockPrice>(HubMethods.StreamStockPrices, 9, [Symbols]).DefaultTimeout();

        var after = DateTime.UtcNow;
        Assert.Equal(Symbols.Concat(Symbols).Concat(Symbols), prices.Select(p => p.Symbol));
        foreach (var price in prices)
        {
            Assert.InRange(price.Price, 1.0, 10_000.0);
            Assert.Equal(Math.Round(price.Price, 2), price.Price);
            Assert.Equal(DateTimeKind.Utc, price.Timestamp.Kind);
            Assert.InRange(price.Timestamp, before.AddSeconds(-1), after.AddSeconds(1));
        }
        foreach (var series in prices.GroupBy(p => p.Symbol).Select(g => g.ToList()))
        {
            for (var i = 1; i < series.Count; i++)
            {
                Assert.True(series[i].Timestamp >= series[i - 1].Timestamp, "timestamps of one symbol never go back");
                // The documented random walk moves a price by at most 1% a tick (plus rounding to cents).
                Assert.InRange(series[i].Price / series[i - 1].Price, 0.989, 1.011);
            }
        }
        await TestTimeouts.Eventually(() => Active.Downloads == 0, "the price loop ended once the client cancelled the stream");
    }

    [Fact]
    public async Task AFractionalPriceSurvivesTheWireAsADouble()
    {
        await using var client = await server.ConnectAsync(HubRoutes.Streaming, server.Token("stella"));

        // Prices are rounded to cents; over 30 ticks at least one is not a whole number unless prices were truncated to integers.
        var prices = await client.TakeAsync<StockPrice>(HubMethods.StreamStockPrices, 30, [new[] { "AAPL", "IBM", "BRK.B" }])
            .DefaultTimeout();

        Assert.Contains(prices, p => p.Price != Math.Floor(p.Price));
    }

    [Fact]
    public async Task CancellingTheClientTokenStopsTheServerLoop()
    {
        await using var client = await server.ConnectAsync(HubRoutes.Streaming, server.Token("stella"));
        await TestTimeouts.Eventually(() => Active.Downloads == 0, "no stream is running before the test");
        using var cts = new CancellationTokenSource();
        var reader = await client.StreamAsChannelAsync<StockPrice>(HubMethods.StreamStockPrices, Symbols, cts.Token).DefaultTimeout();
        await reader.ReadAsync().AsTask().DefaultTimeout();
        Assert.Equal(1, Active.Downloads);

        cts.Cancel();

        await TestTimeouts.Eventually(() => Active.Downloads == 0, "the cancelled price loop ended on the server");
        Assert.Equal(HubConnectionState.Connected, client.State);
        // The connection stays usable for a new stream.
        Assert.Equal([0, 1], await client.StreamAsync<int>(HubMethods.StreamCounter, 2, 0).ToListAsync().DefaultTimeout());
    }

    [Fact]
    public async Task CancellingALongCounterStopsItsServerLoop()
    {
        await using var client = await server.ConnectAsync(HubRoutes.Streaming, server.Token("stella"));
        await TestTimeouts.Eventually(() => Active.Downloads == 0, "no stream is running before the test");
        using var cts = new CancellationTokenSource();
        // 1000 items a minute apart: only cancellation can end this loop within the test.
        var reader = await client.StreamAsChannelAsync<int>(HubMethods.StreamCounter, 1000, 60_000, cts.Token).DefaultTimeout();
        Assert.Equal(0, await reader.ReadAsync().AsTask().DefaultTimeout());
        Assert.Equal(1, Active.Downloads);

        cts.Cancel();

        await TestTimeouts.Eventually(() => Active.Downloads == 0, "the cancelled counter loop ended on the server");
    }

    [Fact]
    public async Task DisconnectingMidStreamStopsTheServerLoop()
    {
        var client = await server.ConnectAsync(HubRoutes.Streaming, server.Token("stella"));
        await TestTimeouts.Eventually(() => Active.Downloads == 0, "no stream is running before the test");
        var reader = await client.StreamAsChannelAsync<StockPrice>(HubMethods.StreamStockPrices, Symbols).DefaultTimeout();
        await reader.ReadAsync().AsTask().DefaultTimeout();
        Assert.Equal(1, Active.Downloads);

        await client.DisposeAsync().AsTask().DefaultTimeout();

        await TestTimeouts.Eventually(() => Active.Downloads == 0, "the price loop of the closed connection ended on the server");
    }

    [Theory]
    [InlineData(-1, 10)]
    [InlineData(100_001, 0)]
    [InlineData(5, -1)]
    [InlineData(5, 60_001)]
    public async Task OutOfRangeCounterArgumentsAreRefused(int count, int delay)
    {
        await using var client = await server.ConnectAsync(HubRoutes.Streaming, server.Token("stella"));

        var error = await Assert.ThrowsAsync<HubException>(() =>
            client.StreamAsync<int>(HubMethods.StreamCounter, count, delay).ToListAsync().DefaultTimeout());

        Assert.Contains(ErrorCodes.ArgumentInvalid + ": ", error.Message);
        Assert.Equal(HubConnectionState.Connected, client.State);
    }

    public static TheoryData<string[]> BadSymbolLists() => new()
    {
        Array.Empty<string>(),
        new[] { "A B" },
        new[] { "AAPL", "" },
        new[] { "THIRTEENCHARS" },
        new[] { "AAPL", "MS*T" },
        Enumerable.Range(0, 21).Select(i => "S" + i).ToArray(),
    };

    [Theory]
    [MemberData(nameof(BadSymbolLists))]
    public async Task OutOfRangeSymbolListsAreRefused(string[] symbols)
    {
        await using var client = await server.ConnectAsync(HubRoutes.Streaming, server.Token("stella"));

        var error = await Assert.ThrowsAsync<HubException>(() =>
            client.TakeAsync<StockPrice>(HubMethods.StreamStockPrices, 1, [symbols]).DefaultTimeout());

        Assert.Contains(ErrorCodes.ArgumentInvalid + ": ", error.Message);
    }

    [Fact]
    public async Task ANullSymbolListIsRefused()
    {
        await using var client = await server.ConnectAsync(HubRoutes.Streaming, server.Token("stella"));

        var error = await Assert.ThrowsAsync<HubException>(() =>
            client.TakeAsync<StockPrice>(HubMethods.StreamStockPrices, 1, [null]).DefaultTimeout());

        Assert.Contains(ErrorCodes.ArgumentInvalid + ": ", error.Message);
    }

    [Fact]
    public async Task TwentySymbolsAreTheMostOneStreamMayAskFor()
    {
        await using var client = await server.ConnectAsync(HubRoutes.Streaming, server.Token("stella"));
        var symbols = Enumerable.Range(0, 20).Select(i => "S" + i).ToArray();

        var prices = await client.TakeAsync<StockPrice>(HubMethods.StreamStockPrices, 20, [symbols]).DefaultTimeout();

        Assert.Equal(symbols, prices.Select(p => p.Symbol));
    }
}
