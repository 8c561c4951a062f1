using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;
using Switchboard.Contracts;
using Switchboard.Core.Streaming;
using Switchboard.Server.Hosting;

namespace Switchboard.Server.Hubs;

/// <summary>
/// <c>/hubs/upload</c>: client-to-server streaming. Works with <c>send</c> (as the guide calls it)
/// and <c>invoke</c> (which also returns the receipt). The caller gets <c>UploadProgress</c> on
/// the first item, then at most once per <c>Switchboard:Upload:ProgressInterval</c>, then a final
/// one with the totals and <c>UploadCompleted</c>. A stream the client ends with an error stops
/// the upload: no <c>UploadCompleted</c>, and an invoking caller gets <c>upload_cancelled</c>.
/// </summary>
public sealed class UploadHub(ActiveStreams active, IOptions<SwitchboardOptions> options, TimeProvider time, ILogger<UploadHub> logger) : Hub
{
    /// <summary>How SignalR's error for a stream item it could not bind begins.</summary>
    private const string ItemNotBound = "Failed to bind Stream message.";

    public async Task<UploadStatus> UploadStream(IAsyncEnumerable<string> stream)
    {
        using var _ = active.BeginUpload();
        var interval = options.Value.Upload.ProgressInterval;
        var items = 0L;
        var characters = 0L;
        long? lastProgress = null;
        try
        {
            await foreach (var item in stream.WithCancellation(Context.ConnectionAborted))
            {
                items++;
                characters += item?.Length ?? 0;
                var now = time.GetTimestamp();
                if (lastProgress is null || time.GetElapsedTime(lastProgress.Value, now) >= interval)
                {
                    lastProgress = now;
                    await Clients.Caller.SendAsync(ClientEvents.UploadProgress, new UploadStatus(items, characters));
                }
            }
        }
        catch (Exception e) when (e is not OperationCanceledException || !Context.ConnectionAborted.IsCancellationRequested)
        {
            if (e.Message.StartsWith(ItemNotBound, StringComparison.Ordinal))
            {
                // SignalR ends the stream itself when an item does not bind to a string: the
                // client ended nothing, it sent an item of the wrong type.
                throw new SwitchboardError(ErrorCodes.ArgumentInvalid,
                    $"Upload items must be strings; item {items + 1} was not, so the upload was stopped after {items} item(s) and nothing was completed.").ToHubException();
            }
            HubLog.UploadCancelled(logger, Context.ConnectionId, items);
            throw new SwitchboardError(ErrorCodes.UploadCancelled,
                $"The upload was ended by the client after {items} item(s); nothing was completed.").ToHubException();
        }
        var status = new UploadStatus(items, characters);
        await Clients.Caller.SendAsync(ClientEvents.UploadProgress, status);
        await Clients.Caller.SendAsync(ClientEvents.UploadCompleted, status);
        return status;
    }
}
