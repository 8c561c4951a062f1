using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;
using Switchboard.Contracts;
using Switchboard.Core.Streaming;
using Switchboard.Server.Hosting;

namespace Switchboard.Server.Hubs;

/// <summary>
/// <c>/hubs/streaming</c>: server-to-client streams. Arguments are checked before the stream
/// starts, so a bad call fails as an invocation error; disposing the subscription on the client
/// cancels <c>cancellationToken</c> and ends the server loop.
/// </summary>
public sealed class StreamingHub(IPriceSource prices, ActiveStreams active, IOptions<SwitchboardOptions> options, TimeProvider time) : Hub
{
    public IAsyncEnumerable<int> StreamCounter(int count, int delay, CancellationToken cancellationToken)
    {
        var limits = options.Value.Streaming;
        if (count < 0 || count > limits.MaxCount)
            throw new SwitchboardError(ErrorCodes.ArgumentInvalid, $"count must be between 0 and {limits.MaxCount}.").ToHubException();
        if (delay < 0 || delay > limits.MaxDelayMilliseconds)
            throw new SwitchboardError(ErrorCodes.ArgumentInvalid, $"delay must be between 0 and {limits.MaxDelayMilliseconds} milliseconds.").ToHubException();
        return Counter(count, TimeSpan.FromMilliseconds(delay), cancellationToken);
    }

    public IAsyncEnumerable<StockPrice> StreamStockPrices(string[] symbols, CancellationToken cancellationToken)
    {
        var limits = options.Value.Streaming;
        if (symbols is null || symbols.Length == 0 || symbols.Length > limits.MaxSymbols)
            throw new SwitchboardError(ErrorCodes.ArgumentInvalid, $"symbols must list 1 to {limits.MaxSymbols} symbols.").ToHubException();
        foreach (var symbol in symbols)
        {
            if (!IsSymbol(symbol))
                throw new SwitchboardError(ErrorCodes.ArgumentInvalid, "A symbol is 1 to 12 letters, digits, '.' or '-'.").ToHubException();
        }
        return Prices([.. symbols.Distinct(StringComparer.OrdinalIgnoreCase)], limits.PriceInterval, cancellationToken);
    }

    private async IAsyncEnumerable<int> Counter(int count, TimeSpan delay, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var _ = active.BeginDownload();
        for (var i = 0; i < count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return i;
            await Task.Delay(delay, time, cancellationToken);
        }
    }

    private async IAsyncEnumerable<StockPrice> Prices(string[] symbols, TimeSpan interval, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var _ = active.BeginDownload();
        while (!cancellationToken.IsCancellationRequested)
        {
            foreach (var symbol in symbols)
            {
                yield return prices.Next(symbol);
            }
            await Task.Delay(interval, time, cancellationToken);
        }
    }

    private static bool IsSymbol(string? symbol) =>
        !string.IsNullOrEmpty(symbol) && symbol.Length <= 12 &&
        symbol.All(static c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-');
}
