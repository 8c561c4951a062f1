using System.Diagnostics.Metrics;

namespace Switchboard.Core.Diagnostics;

/// <summary>
/// Switchboard's own instruments, on the meter <see cref="MeterName"/>. Tags are low-cardinality
/// on purpose (no group names, user ids or connection ids): a metric series per group would grow
/// without bound.
/// </summary>
public sealed class SwitchboardMetrics
{
    public const string MeterName = "Switchboard";

    private readonly Counter<long> _published;
    private readonly Counter<long> _duplicates;
    private readonly Histogram<double> _appendDuration;
    private readonly Counter<long> _subscriptions;
    private readonly Counter<long> _refusals;
    private readonly Counter<long> _deliveryFailures;
    private readonly Histogram<int> _runSize;
    private readonly Histogram<int> _batchSize;
    private readonly Counter<long> _webhookEvents;
    private readonly Counter<long> _webhookRequests;

    public SwitchboardMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _published = meter.CreateCounter<long>("switchboard.messages.published", "{message}",
            "Messages stored and delivered through the publish path, by kind (group or private).");
        _duplicates = meter.CreateCounter<long>("switchboard.messages.duplicates", "{message}",
            "Publishes acknowledged as duplicates of an earlier id; neither stored nor delivered again.");
        _appendDuration = meter.CreateHistogram<double>("switchboard.history.append.duration", "s",
            "Time from handing a message to the history store to its durable acknowledgement.", tags: null,
            advice: new InstrumentAdvice<double>
            {
                HistogramBucketBoundaries = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
            });
        _subscriptions = meter.CreateCounter<long>("switchboard.subscriptions", "{subscription}",
            "Subscribe answers, by outcome: first (no position given), recovered, or not_recovered.");
        _refusals = meter.CreateCounter<long>("switchboard.refusals", "{refusal}",
            "Calls and requests refused with a Switchboard error code, by code.");
        _deliveryFailures = meter.CreateCounter<long>("switchboard.delivery.failures", "{message}",
            "Stored messages whose live fan-out failed (for example while the backplane reconnects); subscribers recover them from history.");
        _runSize = meter.CreateHistogram<int>("switchboard.fanout.run.size", "{message}",
            "Messages of one group handed to the fan-out together (a run): each connection gets a run in one write.", tags: null,
            advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [1, 2, 4, 8, 16, 32, 64] });
        _batchSize = meter.CreateHistogram<int>("switchboard.history.batch.size", "{message}",
            "Appends the SQLite history store wrote and committed in one transaction: those that queued while the previous commit was syncing.", tags: null,
            advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512] });
        _webhookEvents = meter.CreateCounter<long>("switchboard.webhook.events", "{event}",
            "Webhook events by outcome: sent (in a batch the receiver accepted), failed (its batch was refused on every attempt) or dropped (the queue was full, or the server stopped first).");
        _webhookRequests = meter.CreateCounter<long>("switchboard.webhook.requests", "{request}",
            "Webhook POSTs by outcome: accepted (2xx) or failed (another status, no answer in time, or no connection); a failed one is retried.");
    }

    public void Published(bool isPrivate, TimeSpan appendDuration)
    {
        _published.Add(1, new KeyValuePair<string, object?>("kind", isPrivate ? "private" : "group"));
        _appendDuration.Record(appendDuration.TotalSeconds);
    }

    public void Duplicate() => _duplicates.Add(1);

    public void DeliveryFailed() => _deliveryFailures.Add(1);

    public void Run(int messages) => _runSize.Record(messages);

    public void Committed(int appends) => _batchSize.Record(appends);

    public void Subscribed(bool positionGiven, bool recovered) =>
        _subscriptions.Add(1, new KeyValuePair<string, object?>("outcome",
            !positionGiven ? "first" : recovered ? "recovered" : "not_recovered"));

    /// <summary><paramref name="outcome"/>: sent, failed or dropped.</summary>
    public void WebhookEvents(string outcome, int events) =>
        _webhookEvents.Add(events, new KeyValuePair<string, object?>("outcome", outcome));

    public void WebhookRequest(bool accepted) =>
        _webhookRequests.Add(1, new KeyValuePair<string, object?>("outcome", accepted ? "accepted" : "failed"));

    public void Refused(string code) => _refusals.Add(1, new KeyValuePair<string, object?>("code", code));
}
