using System.Globalization;
using System.Net.Http.Headers;
using Microsoft.Extensions.Options;
using Switchboard.Core.Diagnostics;
using Switchboard.Server.Hosting;

namespace Switchboard.Server.Webhooks;

/// <summary>
/// The one background sender: takes what is queued (up to <see cref="WebhookOptions.MaxBatchSize"/>
/// events, whole transitions only), POSTs it signed, and retries a failed POST (another status than 2xx, no answer within
/// <see cref="WebhookOptions.Timeout"/>, no connection) with the same body after
/// <see cref="WebhookOptions.RetryDelay"/>, doubled each time up to a minute, for at most
/// <see cref="WebhookOptions.MaxAttempts"/> attempts. Batches go one at a time, in order.
/// On shutdown, what is in hand and queued gets one more attempt, within one Timeout in all.
/// </summary>
internal sealed class WebhookSender(WebhookQueue queue, IOptions<SwitchboardOptions> options, SwitchboardMetrics metrics,
    TimeProvider time, ILogger<WebhookSender> logger) : BackgroundService
{
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromMinutes(1);

    /// <summary>
    /// The most a stop waits for a POST in flight, and then for the last attempts: twice this
    /// stays inside the host's 30 s shutdown timeout whatever <see cref="WebhookOptions.Timeout"/> is.
    /// </summary>
    internal static readonly TimeSpan ShutdownGrace = TimeSpan.FromSeconds(10);

    protected override async Task ExecuteAsync(CancellationToken stopping)
    {
        if (!queue.Enabled) return;
        var o = options.Value.Webhooks;
        var url = new Uri(o.Url!);
        // No redirects: a signed body goes to the configured address or nowhere.
        using var http = new HttpClient(new SocketsHttpHandler
        {
            AllowAutoRedirect = false, UseCookies = false, PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        }) { Timeout = System.Threading.Timeout.InfiniteTimeSpan };

        // A POST in flight when the stop comes may finish, for at most ShutdownGrace more.
        using var inFlight = new CancellationTokenSource();
        using var graceOnStop = stopping.Register(() => inFlight.CancelAfter(ShutdownGrace));
        WebhookBatch? inHand = null;
        try
        {
            while (await queue.Reader.WaitToReadAsync(stopping))
            {
                inHand = Take(o);
                if (inHand is null) continue;
                await DeliverAsync(http, url, o, inHand, stopping, inFlight.Token);
                inHand = null;
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }

        // Stopping: one attempt for the batch in hand and for what is queued, bounded by one Timeout
        // (at most ShutdownGrace) in all.
        using var last = new CancellationTokenSource(o.Timeout < ShutdownGrace ? o.Timeout : ShutdownGrace);
        var unsent = 0;
        try
        {
            while ((inHand ??= Take(o)) is { } batch)
            {
                if (await SendOnceAsync(http, url, o, batch, last.Token) is null)
                {
                    metrics.WebhookEvents("sent", batch.Count);
                }
                else
                {
                    unsent += batch.Count;
                }
                inHand = null;
            }
        }
        catch (OperationCanceledException)
        {
        }
        queue.Complete();
        if (inHand is not null) unsent += inHand.Count;
        while (queue.Reader.TryRead(out var left)) unsent += left.Length;
        if (unsent > 0)
        {
            metrics.WebhookEvents("dropped", unsent);
            WebhookLog.NotSentAtShutdown(logger, unsent);
        }
    }

    /// <summary>What is queued now, up to the batch size, as one signed body; null when nothing is.</summary>
    private WebhookBatch? Take(WebhookOptions o)
    {
        // Whole transitions only: a member event and its occupied/vacated event share a batch.
        var events = new List<WebhookEvent>();
        while (queue.Reader.TryPeek(out var next) && (events.Count == 0 || events.Count + next.Length <= o.MaxBatchSize)
            && queue.Reader.TryRead(out next))
        {
            events.AddRange(next);
        }
        if (queue.TakeDropped() is var dropped and > 0)
        {
            WebhookLog.Dropped(logger, dropped);
        }
        if (events.Count == 0) return null;
        var id = Guid.CreateVersion7().ToString("N");
        var timeMs = time.GetUtcNow().ToUnixTimeMilliseconds();
        var body = WebhookSigner.Body(id, timeMs, events);
        return new WebhookBatch(id, timeMs, events.Count, body, WebhookSigner.Sign(o.Secret!, body));
    }

    private async Task DeliverAsync(HttpClient http, Uri url, WebhookOptions o, WebhookBatch batch, CancellationToken stopping,
        CancellationToken inFlight)
    {
        for (var attempt = 1; ; attempt++)
        {
            // Not cancelled by the stop itself: an attempt cancelled while its answer was on the way
            // would be sent again at shutdown (a duplicate). It is bounded by Timeout, and after a
            // stop by ShutdownGrace.
            var failure = await SendOnceAsync(http, url, o, batch, inFlight);
            if (failure is null)
            {
                metrics.WebhookEvents("sent", batch.Count);
                return;
            }
            if (attempt >= o.MaxAttempts)
            {
                metrics.WebhookEvents("failed", batch.Count);
                WebhookLog.GaveUp(logger, batch.Id, batch.Count, attempt, failure);
                return;
            }
            var delay = Backoff(o.RetryDelay, attempt);
            WebhookLog.Retrying(logger, attempt, o.MaxAttempts, batch.Id, failure, delay);
            await Task.Delay(delay, time, stopping);
        }
    }

    /// <summary>The pause after failed attempt <paramref name="attempt"/>: the first delay, doubled per attempt, at most a minute.</summary>
    internal static TimeSpan Backoff(TimeSpan first, int attempt)
    {
        var ticks = first.Ticks * Math.Pow(2, Math.Min(attempt - 1, 30));
        return ticks >= MaxRetryDelay.Ticks ? MaxRetryDelay : TimeSpan.FromTicks((long)ticks);
    }

    /// <summary>One POST; null when the receiver accepted it, otherwise why not. Throws only when <paramref name="cancel"/> fires.</summary>
    private async Task<string?> SendOnceAsync(HttpClient http, Uri url, WebhookOptions o, WebhookBatch batch, CancellationToken cancel)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        timeout.CancelAfter(o.Timeout);
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(batch.Body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        request.Headers.Add(WebhookSigner.SignatureHeader, batch.Signature);
        request.Headers.Add(WebhookSigner.TimestampHeader, batch.TimeMs.ToString(CultureInfo.InvariantCulture));
        request.Headers.Add(WebhookSigner.DeliveryHeader, batch.Id);
        string? failure;
        try
        {
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            failure = response.IsSuccessStatusCode ? null : $"HTTP {(int)response.StatusCode}";
        }
        catch (OperationCanceledException) when (!cancel.IsCancellationRequested)
        {
            failure = "no answer within " + o.Timeout.ToString("c", CultureInfo.InvariantCulture);
        }
        catch (HttpRequestException e)
        {
            failure = e.HttpRequestError.ToString();
        }
        metrics.WebhookRequest(failure is null);
        return failure;
    }
}

/// <summary>Webhook log messages (1301 to 1304). Bodies, user ids and the URL are never logged.</summary>
internal static partial class WebhookLog
{
    [LoggerMessage(1301, LogLevel.Warning, "Webhook batch {BatchId} was not accepted on attempt {Attempt} of {MaxAttempts} ({Failure}); retrying in {Delay}.")]
    public static partial void Retrying(ILogger logger, int attempt, int maxAttempts, string batchId, string failure, TimeSpan delay);

    [LoggerMessage(1302, LogLevel.Error, "Webhook batch {BatchId} of {Events} events was given up after {Attempts} attempts ({Failure}).")]
    public static partial void GaveUp(ILogger logger, string batchId, int events, int attempts, string failure);

    [LoggerMessage(1303, LogLevel.Warning, "{Events} webhook events were dropped, oldest first: the queue (Switchboard:Webhooks:MaxQueue) was full.")]
    public static partial void Dropped(ILogger logger, long events);

    [LoggerMessage(1304, LogLevel.Warning, "{Events} webhook events were not sent: the server stopped first.")]
    public static partial void NotSentAtShutdown(ILogger logger, int events);
}
