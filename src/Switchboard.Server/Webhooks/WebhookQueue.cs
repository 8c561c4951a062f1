using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Options;
using Switchboard.Core.Diagnostics;
using Switchboard.Core.Presence;
using Switchboard.Server.Hosting;

namespace Switchboard.Server.Webhooks;

/// <summary>The webhook event names, as Pusher names them.</summary>
public static class WebhookEventNames
{
    public const string MemberAdded = "member_added";
    public const string MemberRemoved = "member_removed";
    public const string ChannelOccupied = "channel_occupied";
    public const string ChannelVacated = "channel_vacated";

    public static readonly IReadOnlyList<string> All = [MemberAdded, MemberRemoved, ChannelOccupied, ChannelVacated];
}

/// <summary>
/// One event of a batch: <c>{ name, group, seq, user_id, user_name }</c> (the user only in member
/// events). <paramref name="Seq"/> is the transition's <see cref="PresenceChange.Seq"/>: the same
/// for a member event and the occupied or vacated event of its transition.
/// </summary>
public sealed record WebhookEvent(string Name, string Group, long Seq, string? UserId = null, string? UserName = null);

/// <summary>The body of one POST and its signature, made once and sent unchanged on every attempt.</summary>
public sealed record WebhookBatch(string Id, long TimeMs, int Count, byte[] Body, string Signature);

/// <summary>Signs bodies: <c>sha256=</c> and the lower-case hex HMAC-SHA256 of the exact bytes with the secret (UTF-8).</summary>
public static class WebhookSigner
{
    public const int MinSecretLength = 32;
    public const string SignatureHeader = "X-Switchboard-Signature";
    public const string TimestampHeader = "X-Switchboard-Timestamp";
    public const string DeliveryHeader = "X-Switchboard-Delivery";

    public static string Sign(string secret, ReadOnlySpan<byte> body) =>
        "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body));

    /// <summary><c>{"id":...,"time_ms":...,"events":[{"name":...,"group":...,"seq":...},...]}</c>, UTF-8.</summary>
    public static byte[] Body(string id, long timeMs, IReadOnlyList<WebhookEvent> events)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("id", id);
            json.WriteNumber("time_ms", timeMs);
            json.WriteStartArray("events");
            foreach (var e in events)
            {
                json.WriteStartObject();
                json.WriteString("name", e.Name);
                json.WriteString("group", e.Group);
                json.WriteNumber("seq", e.Seq);
                if (e.UserId is not null) json.WriteString("user_id", e.UserId);
                if (e.UserName is not null) json.WriteString("user_name", e.UserName);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }
}

/// <summary>
/// The bounded queue between the transitions (join, leave, disconnect, sweep) and the one
/// <see cref="WebhookSender"/>. Each item is the events of one transition (a member event, with
/// channel_occupied before or channel_vacated after it), so they travel in one batch. Adding never
/// blocks and never fails: when the queue is full, the oldest item is dropped and counted. With
/// webhooks off it holds nothing.
/// </summary>
public sealed class WebhookQueue
{
    private readonly Channel<WebhookEvent[]>? _channel;
    private readonly HashSet<string> _wanted;
    private readonly SwitchboardMetrics _metrics;
    private long _dropped;

    public WebhookQueue(IOptions<SwitchboardOptions> options, SwitchboardMetrics metrics)
    {
        _metrics = metrics;
        var o = options.Value.Webhooks;
        _wanted = new HashSet<string>(o.Events.Count == 0 ? WebhookEventNames.All : o.Events, StringComparer.Ordinal);
        if (string.IsNullOrWhiteSpace(o.Url)) return;
        _channel = Channel.CreateBounded<WebhookEvent[]>(
            new BoundedChannelOptions(o.MaxQueue) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true },
            dropped =>
            {
                Interlocked.Add(ref _dropped, dropped.Length);
                _metrics.WebhookEvents("dropped", dropped.Length);
            });
    }

    public bool Enabled => _channel is not null;

    internal ChannelReader<WebhookEvent[]> Reader => _channel!.Reader;

    /// <summary>Events dropped since the last call (for one log line per batch, not one per event).</summary>
    internal long TakeDropped() => Interlocked.Exchange(ref _dropped, 0);

    /// <summary>
    /// A presence transition this process observed (and so no other did): <c>member_added</c> or
    /// <c>member_removed</c>, with <c>channel_occupied</c> before the first member's add and
    /// <c>channel_vacated</c> after the last member's removal.
    /// </summary>
    public void Presence(PresenceChange change, bool joined)
    {
        if (_channel is null) return;
        var member = new WebhookEvent(joined ? WebhookEventNames.MemberAdded : WebhookEventNames.MemberRemoved, change.Group, change.Seq,
            change.UserId, change.Name);
        WebhookEvent[] events = !change.ChangesOccupancy ? [member]
            : joined ? [new WebhookEvent(WebhookEventNames.ChannelOccupied, change.Group, change.Seq), member]
            : [member, new WebhookEvent(WebhookEventNames.ChannelVacated, change.Group, change.Seq)];
        if (events.Any(e => !_wanted.Contains(e.Name))) events = [.. events.Where(e => _wanted.Contains(e.Name))];
        // Refused only once the sender has stopped (the queue itself drops its oldest instead).
        if (events.Length > 0 && !_channel.Writer.TryWrite(events)) _metrics.WebhookEvents("dropped", events.Length);
    }

    /// <summary>No more events: the sender has stopped.</summary>
    internal void Complete() => _channel?.Writer.TryComplete();
}
