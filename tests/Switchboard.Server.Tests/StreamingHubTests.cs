using System.Threading.Channels;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Switchboard.Contracts;
using Switchboard.Core.Streaming;
using Switchboard.Server.Tests.Infrastructure;

namespace Switchboard.Server.Tests;

/// <summary>A server whose price stream ticks every 50 ms and whose robust hub accepts at most 100 characters.</summary>
public sealed class FastStreamsServer() : SwitchboardFactoryWith(new()
{
    ["Switchboard:Streaming:PriceInterval"] = "00:00:00.050",
    ["Switchboard:MaxMessageLength"] = "100",
});

public sealed class StreamingHubTests(FastStreamsServer server) : IClassFixture<FastStreamsServer>
{
    [Fact]
    public async Task StreamCounterYieldsEachNumberThenCompletes()
    {
        await using var client = await server.ConnectAsync(HubRoutes.Streaming, server.Token("sid"));
        var items = new List<int>();

        await foreach (var i in client.StreamAsync<int>(HubMethods.StreamCounter, 5, 10).WithCancellation(new CancellationTokenSource(TestTimeouts.Network).Token))
        {
            items.Add(i);
        }

        Assert.Equal([0, 1, 2, 3, 4], items);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task StockPricesArriveForEverySymbolAndStopWhenTheClientCancels(bool messagePack)
    {
        await using var client = await server.ConnectAsync(HubRoutes.Streaming, server.Token("sal"), messagePack: messagePack);
        var active = server.Get<ActiveStreams>();
        var seen = new HashSet<string>();
        var prices = new List<StockPrice>();

        using var stop = new CancellationTokenSource();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var price in client.StreamAsync<StockPrice>(HubMethods.StreamStockPrices, new[] { "AAPL", "GOOGL", "MSFT" }, stop.Token))
            {
                prices.Add(price);
                seen.Add(price.Symbol);
                if (seen.Count == 3 && prices.Count >= 6) stop.Cancel(); // the .NET client's way to dispose a subscription
            }
        }).DefaultTimeout();

        Assert.Equal(["AAPL", "GOOGL", "MSFT"], seen.Order());
        Assert.All(prices, p => Assert.InRange(p.Price, 1, 10_000));
        Assert.All(prices, p => Assert.InRange(p.Timestamp, DateTime.UtcNow.AddMinutes(-1), DateTime.UtcNow.AddSeconds(1)));
        await TestTimeouts.Eventually(() => active.Downloads == 0, "the server's price loop stopped");
    }

    [Fact]
    public async Task ADisconnectMidStreamStopsTheServerLoop()
    {
        var active = server.Get<ActiveStreams>();
        var client = await server.ConnectAsync(HubRoutes.Streaming, server.Token("sue"));
        var stream = client.StreamAsync<StockPrice>(HubMethods.StreamStockPrices, new[] { "AAPL" }).GetAsyncEnumerator();
        Assert.True(await stream.MoveNextAsync().AsTask().DefaultTimeout());
        Assert.True(active.Downloads >= 1);

        await client.DisposeAsync();

        await TestTimeouts.Eventually(() => active.Downloads == 0, "the server's price loop stopped");
    }

    public static TheoryData<string, object[]> BadArguments() => new()
    {
        { HubMethods.StreamCounter, [-1, 10] },
        { HubMethods.StreamCounter, [5, 60_001] },
        { HubMethods.StreamStockPrices, [Array.Empty<string>()] },
        { HubMethods.StreamStockPrices, [new[] { "A B" }] },
        { HubMethods.StreamStockPrices, [Enumerable.Range(0, 21).Select(i => $"S{i}").ToArray()] },
    };

    [Theory]
    [MemberData(nameof(BadArguments))]
    public async Task OutOfRangeArgumentsAreRefused(string method, object[] args)
    {
        await using var client = await server.ConnectAsync(HubRoutes.Streaming, server.Token("sam"));

        var error = await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            var reader = await client.StreamAsChannelCoreAsync(method, typeof(object), args).DefaultTimeout();
            while (await reader.WaitToReadAsync().AsTask().DefaultTimeout()) reader.TryRead(out _);
        });

        Assert.Contains(ErrorCodes.ArgumentInvalid, error.Message);
        Assert.Equal(HubConnectionState.Connected, client.State);
    }
}

public sealed class UploadHubTests(FastStreamsServer server) : IClassFixture<FastStreamsServer>
{
    private static ChannelReader<string> Lines(params string[] lines)
    {
        var channel = Channel.CreateUnbounded<string>();
        foreach (var line in lines) channel.Writer.TryWrite(line);
        channel.Writer.Complete();
        return channel.Reader;
    }

    [Fact]
    public async Task ASentUploadReportsProgressAndCompletionWithExactTotals()
    {
        await using var client = server.Hub(HubRoutes.Upload, server.Token("uma"));
        var progress = Events.On<UploadStatus>(client, ClientEvents.UploadProgress);
        var completed = Events.On<UploadStatus>(client, ClientEvents.UploadCompleted);
        await client.StartedAsync();

        await client.SendAsync(HubMethods.UploadStream, Lines("Item 1", "Item 2", "Item 3")).DefaultTimeout();

        var receipt = await completed.NextAsync();
        Assert.Equal((3, 18L), (receipt.Items, receipt.Characters));
        var reports = progress.Drain();
        Assert.NotEmpty(reports);
        Assert.Equal((3, 18L), (reports[^1].Items, reports[^1].Characters));
    }

    [Fact]
    public async Task AnInvokedUploadReturnsTheReceipt()
    {
        await using var client = await server.ConnectAsync(HubRoutes.Upload, server.Token("uli"), messagePack: true);
        var lines = Enumerable.Range(0, 250).Select(i => $"line {i}").ToArray();

        var receipt = await client.InvokeAsync<UploadStatus>(HubMethods.UploadStream, Lines(lines)).DefaultTimeout();

        Assert.Equal((250, lines.Sum(l => (long)l.Length)), (receipt.Items, receipt.Characters));
    }

    [Fact]
    public async Task AnUploadCancelledMidwayCompletesNothingAndTheConnectionCarriesOn()
    {
        var active = server.Get<ActiveStreams>();
        await using var client = server.Hub(HubRoutes.Upload, server.Token("una"));
        var progress = Events.On<UploadStatus>(client, ClientEvents.UploadProgress);
        var completed = Events.On<UploadStatus>(client, ClientEvents.UploadCompleted);
        await client.StartedAsync();
        var channel = Channel.CreateUnbounded<string>();
        var upload = client.InvokeAsync<UploadStatus>(HubMethods.UploadStream, channel.Reader);
        await channel.Writer.WriteAsync("first");
        await progress.NextAsync();

        channel.Writer.Complete(new Exception("stop"));
        var error = await Assert.ThrowsAsync<HubException>(() => upload.DefaultTimeout());

        Assert.Contains(ErrorCodes.UploadCancelled, error.Message);
        await TestTimeouts.Eventually(() => active.Uploads == 0, "the upload loop ended");
        var next = await client.InvokeAsync<UploadStatus>(HubMethods.UploadStream, Lines("again")).DefaultTimeout();
        Assert.Equal(1, next.Items);
        Assert.Equal(1, (await completed.NextAsync()).Items); // only the second upload completed
    }

    [Fact]
    public async Task AClientDisconnectingMidUploadEndsTheUpload()
    {
        var active = server.Get<ActiveStreams>();
        var client = await server.ConnectAsync(HubRoutes.Upload, server.Token("ute"));
        var channel = Channel.CreateUnbounded<string>();
        _ = client.SendAsync(HubMethods.UploadStream, channel.Reader);
        await channel.Writer.WriteAsync("partial");
        await TestTimeouts.Eventually(() => active.Uploads >= 1, "the upload started");

        await client.DisposeAsync();

        await TestTimeouts.Eventually(() => active.Uploads == 0, "the upload loop ended");
    }
}

public sealed class RobustHubTests(FastStreamsServer server) : IClassFixture<FastStreamsServer>
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AGoodMessageSucceedsAndReachesEveryone(bool messagePack)
    {
        await using var sender = await server.ConnectAsync(HubRoutes.Robust, server.Token("rob", "Rob"), messagePack: messagePack);
        await using var listener = server.Hub(HubRoutes.Robust, server.Token("ria"), messagePack: messagePack);
        var received = Events.On<string, string>(listener, ClientEvents.ReceiveMessage);
        await listener.StartedAsync();

        var result = await sender.InvokeAsync<Result>(HubMethods.SendMessage, new MessageRequest { Message = "hi" }).DefaultTimeout();

        Assert.True(result.IsSuccess);
        Assert.Null(result.Code);
        Assert.Equal(("Rob", "hi"), await received.NextAsync());
    }

    [Theory]
    [InlineData(null, ErrorCodes.MessageEmpty, false)]
    [InlineData("   ", ErrorCodes.MessageEmpty, false)]
    [InlineData("", ErrorCodes.MessageEmpty, true)]
    [InlineData("this message is longer than the hundred characters this server allows for one message, so it is refused", ErrorCodes.MessageTooLong, true)]
    public async Task BadMessagesAreFailedResultsNotExceptions(string? message, string code, bool messagePack)
    {
        await using var sender = await server.ConnectAsync(HubRoutes.Robust, server.Token("rex"), messagePack: messagePack);
        var received = Events.On<string, string>(sender, ClientEvents.ReceiveMessage);

        var result = await sender.InvokeAsync<Result>(HubMethods.SendMessage, new MessageRequest { Message = message }).DefaultTimeout();
        var none = await sender.InvokeAsync<Result>(HubMethods.SendMessage, (MessageRequest?)null).DefaultTimeout();

        Assert.False(result.IsSuccess);
        Assert.Equal(code, result.Code);
        Assert.False(string.IsNullOrWhiteSpace(result.Error));
        Assert.Equal(ErrorCodes.MessageEmpty, none.Code);
        Assert.Empty(received.Drain());
    }
}
