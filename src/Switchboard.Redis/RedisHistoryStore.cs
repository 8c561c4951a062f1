using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using Switchboard.Core.History;
using StreamPosition = Switchboard.Core.History.StreamPosition;

namespace Switchboard.Redis;

/// <summary>
/// <see cref="IHistoryStore"/> shared by every process on one Redis: a stream per group whose
/// entry ids are the offsets (<c>{offset}-0</c>), and a counter per group. Each append is one
/// Lua script, so the offset is taken and the message stored atomically: two processes
/// publishing to one group never produce a duplicate or a gap, and a duplicate id is recognised
/// whichever process saw it first.
/// <para>
/// Keys (layout 2; P is <see cref="RedisOptions.ChannelPrefix"/>, G the group name with <c>%</c>,
/// <c>{</c> and <c>}</c> escaped, so that no group's keys can be another group's or the store's
/// own, whatever the name): <c>P:h2:instance</c> (a random id made with the first write: epochs
/// derive from it and the group name, so a Redis that lost its data gives every group a new
/// epoch), <c>P:h2:{G}</c> (the stream), <c>P:h2:{G}seq</c> (the last offset, never reset by
/// retention), <c>P:h2:{G}id:{S}{id}</c> (a sender S's client-chosen id, expiring after the window) and
/// <c>P:h2:groups</c> (groups by last append, for retention). Layout 1 (<c>P:h:{group}:seq</c>
/// and so on) let a group named <c>room:seq</c> overwrite the counter of <c>room</c>; its keys
/// are no longer read, and its new instance key gives every group a new epoch.
/// </para>
/// <para>
/// The counter and the stream agree after any loss of the counter alone (an eviction, a partial
/// restore): an append takes the next offset after both, and positions are read from both.
/// </para>
/// <para>
/// Durability is Redis's: an acknowledged message is in Redis's memory, and survives a Redis
/// restart as far as Redis's persistence (AOF with <c>appendfsync always</c> for every write)
/// is configured to. docs/scale-out.md says what to configure.
/// </para>
/// </summary>
public sealed class RedisHistoryStore : IHistoryStore, IAsyncDisposable
{
    // Shared Lua: the offset of a stream's newest entry (0 when empty). The scripts take a group's
    // top from it as well as from the counter, which alone may have been lost (evicted, restored apart).
    private const string LastStoredFunction = """
        local function lastStored(stream)
          local last = redis.call('XREVRANGE', stream, '+', '-', 'COUNT', 1)
          if last[1] then return tonumber(string.match(last[1][1], '^(%d+)')) end
          return 0
        end
        """;

    private const string AppendScript = LastStoredFunction + "\n" + """
        local inst = redis.call('GET', KEYS[1])
        if not inst then inst = ARGV[1]; redis.call('SET', KEYS[1], inst) end
        -- Numbers: ARGV[4] (now) is Unix milliseconds; the stored 't' is .NET ticks, kept as a string.
        local window = tonumber(ARGV[3])
        local now = tonumber(ARGV[4])
        if ARGV[2] == '1' and window > 0 then
          local prev = redis.call('GET', KEYS[4])
          if prev then
            local off, expires = string.match(prev, '^(%d+):(%d+)$')
            if tonumber(expires) > now then
              local e = redis.call('XRANGE', KEYS[3], off .. '-0', off .. '-0')
              if e[1] then return {1, inst, tonumber(off), e[1][2]} end
              return {1, inst, tonumber(off), false}
            end
          end
        end
        local off = redis.call('INCR', KEYS[2])
        local top = lastStored(KEYS[3])
        if off <= top then off = top + 1; redis.call('SET', KEYS[2], off) end
        redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[5], off .. '-0',
          'i', ARGV[6], 's', ARGV[7], 'n', ARGV[8], 't', ARGV[9], 'p', ARGV[10], 'f', ARGV[11])
        redis.call('ZADD', KEYS[5], now, ARGV[12])
        if ARGV[2] == '1' and window > 0 then
          redis.call('SET', KEYS[4], off .. ':' .. string.format('%d', now + window), 'PX', window + 1000)
        end
        return {0, inst, off, false}
        """;

    private const string PositionScript = LastStoredFunction + "\n" + """
        local inst = redis.call('GET', KEYS[1])
        if not inst then inst = ARGV[1]; redis.call('SET', KEYS[1], inst) end
        return {inst, math.max(tonumber(redis.call('GET', KEYS[2]) or '0'), lastStored(KEYS[3]))}
        """;

    private const string ReadScript = LastStoredFunction + "\n" + """
        local inst = redis.call('GET', KEYS[1])
        if not inst then inst = ARGV[1]; redis.call('SET', KEYS[1], inst) end
        local top = math.max(tonumber(redis.call('GET', KEYS[2]) or '0'), lastStored(KEYS[3]))
        local first = redis.call('XRANGE', KEYS[3], '-', '+', 'COUNT', 1)
        local firstOffset = top + 1
        if first[1] then firstOffset = tonumber(string.match(first[1][1], '^(%d+)')) end
        local entries = {}
        if tonumber(ARGV[3]) > 0 then
          entries = redis.call('XRANGE', KEYS[3], ARGV[2] .. '-0', '+', 'COUNT', ARGV[3])
        end
        return {inst, top, firstOffset, entries}
        """;

    // Removes a group's messages older than the cutoff (ticks; Lua's doubles compare them to ~13 µs),
    // oldest first, a chunk at a time. A group left with no messages leaves the retention set
    // (KEYS[2]; its next append puts it back), so retention's work follows the groups that hold
    // messages rather than every group ever used.
    private const string TrimAgeScript = """
        local cutoff = tonumber(ARGV[1])
        local removed = 0
        while true do
          local entries = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 100)
          if #entries == 0 then
            redis.call('ZREM', KEYS[2], ARGV[2])
            return removed
          end
          for _, entry in ipairs(entries) do
            local fields = entry[2]
            local t = 0
            for i = 1, #fields, 2 do
              if fields[i] == 't' then t = tonumber(fields[i + 1]) end
            end
            if t >= cutoff then return removed end
            redis.call('XDEL', KEYS[1], entry[1])
            removed = removed + 1
          end
        end
        """;

    private readonly RedisConnection _redis;
    private readonly HistoryOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly RedisKey _instanceKey;
    private readonly RedisKey _groupsKey;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _retention;
    private int _disposed;

    public RedisHistoryStore(RedisConnection redis, IOptions<HistoryOptions> options, TimeProvider time, ILogger<RedisHistoryStore> logger)
    {
        _redis = redis;
        _options = options.Value;
        _time = time;
        _logger = logger;
        _instanceKey = redis.Key("h2:instance");
        _groupsKey = redis.Key("h2:groups");
        _retention = RetainAsync(_stopping.Token);
    }

    public async ValueTask<AppendResult> AppendAsync(NewGroupMessage message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentException.ThrowIfNullOrEmpty(message.Group, "message.Group");
        ArgumentException.ThrowIfNullOrEmpty(message.Id, "message.Id");
        ArgumentNullException.ThrowIfNull(message.Payload, "message.Payload");
        cancellationToken.ThrowIfCancellationRequested();
        var stream = StreamKey(message.Group);
        var window = message.Idempotent ? (long)_options.IdempotencyWindow.TotalMilliseconds : 0;
        var flags = (message.SenderId is null ? 0 : 1) | (message.SenderName is null ? 0 : 2);
        var database = await _redis.DatabaseAsync();
        var reply = (RedisResult[])(await database.ScriptEvaluateAsync(AppendScript,
            [_instanceKey, CounterKey(stream), stream, IdKey(stream, message.SenderId, message.Id), _groupsKey],
            [
                NewInstance(), message.Idempotent ? "1" : "0", window, NowMs(), 2L * _options.MaxMessagesPerGroup,
                message.Id, message.SenderId ?? "", message.SenderName ?? "", message.Timestamp.Ticks, message.Payload,
                flags, message.Group,
            ]))!;
        var epoch = Epoch((string)reply[1]!, message.Group);
        var offset = (long)reply[2];
        if ((long)reply[0] == 0)
        {
            return new AppendResult(new GroupMessage(message.Id, message.Group, offset, epoch,
                message.SenderId, message.SenderName, message.Timestamp, message.Payload), Duplicate: false);
        }
        // A duplicate: the original as stored, or (trimmed away meanwhile) what the repeat carries.
        var original = reply[3].IsNull
            ? new GroupMessage(message.Id, message.Group, offset, epoch, message.SenderId, message.SenderName, message.Timestamp, message.Payload)
            : ReadFields(message.Group, offset, epoch, (RedisResult[])reply[3]!);
        return new AppendResult(original, Duplicate: true);
    }

    public async ValueTask<StreamPosition> GetPositionAsync(string group, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(group);
        cancellationToken.ThrowIfCancellationRequested();
        var database = await _redis.DatabaseAsync();
        var stream = StreamKey(group);
        var reply = (RedisResult[])(await database.ScriptEvaluateAsync(PositionScript, [_instanceKey, CounterKey(stream), stream], [NewInstance()]))!;
        return new StreamPosition((long)reply[1], Epoch((string)reply[0]!, group));
    }

    public async ValueTask<HistoryPage> ReadAsync(string group, long afterOffset, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(group);
        ArgumentOutOfRangeException.ThrowIfNegative(afterOffset);
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        cancellationToken.ThrowIfCancellationRequested();
        var database = await _redis.DatabaseAsync();
        var stream = StreamKey(group);
        var reply = (RedisResult[])(await database.ScriptEvaluateAsync(ReadScript,
            [_instanceKey, CounterKey(stream), stream], [NewInstance(), Math.Min(afterOffset, long.MaxValue - 1) + 1, limit]))!;
        var epoch = Epoch((string)reply[0]!, group);
        var top = new StreamPosition((long)reply[1], epoch);
        var entries = (RedisResult[])reply[3]!;
        var messages = new List<GroupMessage>(entries.Length);
        foreach (var entry in entries)
        {
            var parts = (RedisResult[])entry!;
            messages.Add(ReadFields(group, OffsetOf((string)parts[0]!), epoch, (RedisResult[])parts[1]!));
        }
        return new HistoryPage(top, (long)reply[2], messages);
    }

    public async ValueTask<int> TrimAsync(CancellationToken cancellationToken = default)
    {
        var database = await _redis.DatabaseAsync();
        // A MaxAge reaching back past the year 1 makes nothing too old (as in the SQLite store),
        // rather than failing the whole pass, trimming by count included.
        var now = _time.GetUtcNow().UtcDateTime.Ticks;
        var cutoff = now - Math.Min(_options.MaxAge.Ticks, now);
        var removed = 0;
        // A scan, not pages by rank: every append moves its group to the end of the set, which
        // shifts the ranks of the groups not yet visited, and a page by rank would skip one. A
        // scan visits every member present from its start to its end (some twice, which is harmless).
        await foreach (var entry in database.SortedSetScanAsync(_groupsKey, pageSize: 256).WithCancellation(cancellationToken))
        {
            var group = (string)entry.Element!;
            var stream = StreamKey(group);
            // Appends trim loosely (MAXLEN ~ twice the limit) as a memory guard; the exact count is kept here.
            removed += (int)await database.StreamTrimAsync(stream, _options.MaxMessagesPerGroup);
            removed += (int)await database.ScriptEvaluateAsync(TrimAgeScript, [stream, _groupsKey], [cutoff, group]);
        }
        return removed;
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        await _stopping.CancelAsync();
        try
        {
            await _retention;
        }
        catch (OperationCanceledException)
        {
        }
        _stopping.Dispose();
    }

    private async Task RetainAsync(CancellationToken stopping)
    {
        using var timer = new PeriodicTimer(_options.TrimInterval, _time);
        while (await timer.WaitForNextTickAsync(stopping))
        {
            try
            {
                await TrimAsync(stopping);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                RedisLog.TrimFailed(_logger, e);
            }
        }
    }

    /// <summary>The instance id the scripts set when Redis has none (new, or lost its data): fresh every time, so a wiped Redis gets a new one.</summary>
    private static string NewInstance() => Guid.NewGuid().ToString("N");

    /// <summary>The group's stream: <c>P:h2:{G}</c>, G escaped so that the closing brace ends it.</summary>
    internal RedisKey StreamKey(string group) => _redis.Key("h2:{" + EscapeGroup(group) + "}");

    internal static RedisKey CounterKey(RedisKey stream) => stream.Append("seq");

    /// <summary>
    /// A client-chosen id is its sender's: <c>P:h2:{G}id:{S}{id}</c>, S being <c>n:</c> for no
    /// sender and <c>s{length}:{sender}:</c> otherwise, so that no sender's ids can meet another's.
    /// </summary>
    internal static RedisKey IdKey(RedisKey stream, string? sender, string id) =>
        stream.Append("id:" + (sender is null ? "n:" : "s" + sender.Length.ToString(CultureInfo.InvariantCulture) + ":" + sender + ":") + id);

    /// <summary>One to one: <c>%</c>, <c>{</c> and <c>}</c> become <c>%25</c>, <c>%7B</c> and <c>%7D</c>.</summary>
    internal static string EscapeGroup(string group) =>
        group.AsSpan().IndexOfAny('%', '{', '}') < 0 ? group : group.Replace("%", "%25").Replace("{", "%7B").Replace("}", "%7D");

    private long NowMs() => _time.GetUtcNow().ToUnixTimeMilliseconds();

    private static long OffsetOf(string entryId) => long.Parse(entryId.AsSpan(0, entryId.IndexOf('-')), CultureInfo.InvariantCulture);

    /// <summary>A group's epoch: the instance id and the group name hashed, so it needs no write of its own.</summary>
    internal static string Epoch(string instance, string group) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(instance + "\n" + group)))[..16];

    private static GroupMessage ReadFields(string group, long offset, string epoch, RedisResult[] fields)
    {
        string id = "", sender = "", name = "", payload = "";
        long timestamp = 0, flags = 0;
        for (var i = 0; i + 1 < fields.Length; i += 2)
        {
            var value = fields[i + 1];
            switch ((string)fields[i]!)
            {
                case "i": id = (string)value!; break;
                case "s": sender = (string)value!; break;
                case "n": name = (string)value!; break;
                case "t": timestamp = (long)value; break;
                case "p": payload = (string)value!; break;
                case "f": flags = (long)value; break;
            }
        }
        return new GroupMessage(id, group, offset, epoch, (flags & 1) != 0 ? sender : null, (flags & 2) != 0 ? name : null,
            new DateTime(timestamp, DateTimeKind.Utc), payload);
    }
}
