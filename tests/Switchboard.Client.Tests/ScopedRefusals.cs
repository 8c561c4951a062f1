using System.Diagnostics.Metrics;
using Switchboard.Contracts;

namespace Switchboard.Client.Tests;

/// <summary>
/// Counts one server's <c>rate_limited</c> refusals from its own meter. Its /metrics page is not
/// used for this: in a test process that hosts several servers, every server's OpenTelemetry
/// listener sees every "Switchboard" meter of the process, and the count it shows can be another
/// server's.
/// </summary>
public sealed class ScopedRefusals : IDisposable
{
    private readonly MeterListener _listener = new();
    private long _rateLimited;

    public ScopedRefusals(IMeterFactory factory)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Name == "switchboard.refusals" && ReferenceEquals(instrument.Meter.Scope, factory))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "code" && Equals(tag.Value, ErrorCodes.RateLimited)) Interlocked.Add(ref _rateLimited, value);
            }
        });
        _listener.Start();
    }

    /// <summary><c>rate_limited</c> refusals of this server since this counter was made.</summary>
    public long RateLimited => Interlocked.Read(ref _rateLimited);

    public void Dispose() => _listener.Dispose();
}
