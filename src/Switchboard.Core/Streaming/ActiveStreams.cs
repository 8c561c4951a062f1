namespace Switchboard.Core.Streaming;

/// <summary>
/// Counts the server-side stream loops (downloads and uploads) running right now, so operators
/// and tests can see that a cancelled stream really stopped. Dispose the handle when the loop ends.
/// </summary>
public sealed class ActiveStreams
{
    private int _downloads;
    private int _uploads;

    public int Downloads => Volatile.Read(ref _downloads);
    public int Uploads => Volatile.Read(ref _uploads);

    public IDisposable BeginDownload() => new Handle(this, upload: false);
    public IDisposable BeginUpload() => new Handle(this, upload: true);

    private sealed class Handle : IDisposable
    {
        private ActiveStreams? _owner;
        private readonly bool _upload;

        public Handle(ActiveStreams owner, bool upload)
        {
            _owner = owner;
            _upload = upload;
            if (upload) Interlocked.Increment(ref owner._uploads);
            else Interlocked.Increment(ref owner._downloads);
        }

        public void Dispose()
        {
            var owner = Interlocked.Exchange(ref _owner, null);
            if (owner is null) return;
            if (_upload) Interlocked.Decrement(ref owner._uploads);
            else Interlocked.Decrement(ref owner._downloads);
        }
    }
}
