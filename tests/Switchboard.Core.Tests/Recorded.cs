using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Switchboard.Core.Tests;

/// <summary>
/// The measurements of one instrument, as they are recorded. Only meters of the given factory
/// are listened to: test classes run in parallel and record into instruments of the same name.
/// </summary>
internal sealed class Recorded<T> : IDisposable where T : struct
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentQueue<T> _values = new();

    public Recorded(string instrument, IMeterFactory scope)
    {
        _listener.InstrumentPublished = (published, listener) =>
        {
            if (published.Name == instrument && published.Meter.Scope == scope)
            {
                listener.EnableMeasurementEvents(published);
            }
        };
        _listener.SetMeasurementEventCallback<T>((_, value, _, _) => _values.Enqueue(value));
        _listener.Start();
    }

    public IReadOnlyCollection<T> Values => _values;

    public void Dispose() => _listener.Dispose();
}
