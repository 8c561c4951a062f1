using Microsoft.Extensions.Logging;
using StackExchange.Redis;
using Switchboard.Core.Presence;

namespace Switchboard.Redis;

/// <summary>
/// <see cref="IPresenceStore"/> shared by every process on one Redis. Each change is one Lua
/// script, so counts stay exact when processes race. Every process also keeps a mirror of its
/// own connections and their groups: it is the truth for them, and Redis is brought back to it
/// whenever they may disagree (a command failed while Redis was away, or Redis lost its data).
/// <para>
/// Liveness: each process renews <c>P:p:alive:{process}</c> every
/// <see cref="RedisOptions.HeartbeatInterval"/> with a time to live of
/// <see cref="RedisOptions.ProcessTimeout"/>. Every process also sweeps: a process whose key
/// expired (killed, frozen, cut off) has its connections removed, in a script that first checks
/// the key again, so a process that comes back is never swept after its heartbeat. A process
/// that finds its own key gone re-registers everything it holds.
/// </para>
/// <para>
/// Keys: <c>P:p:c:{connection}</c> (user, name, process), <c>P:p:cg:{connection}</c> (its
/// groups), <c>P:p:uc:{user}</c> (the user's connections), <c>P:p:seen:{user}</c> (last seen),
/// <c>P:p:g:{group}</c> (user to connections in the group), <c>P:p:gm:{group}</c> (user to
/// joined-at and name), <c>P:p:nc:{process}</c> (the process's connections), <c>P:p:nodes</c>,
/// <c>P:p:gs:{group}</c> (the last <see cref="PresenceChange.Seq"/> given in the group).
/// </para>
/// <para>
/// Sequence: every change that is a transition (join, leave, disconnect, sweep) takes the next
/// number of its group's counter in its own script. The counter is not deleted with the group's
/// other keys when it empties; it expires <see cref="SeqLifetime"/> after the group's last
/// transition. A counter that does not exist (new group, expired, Redis lost its data) starts at
/// Redis's own clock (<c>TIME</c>) in microseconds, so it goes on above the numbers given before
/// unless the group had more than one transition per microsecond since its counter began, or
/// Redis's clock went back.
/// </para>
/// </summary>
public sealed class RedisPresenceStore : IPresenceStore, IAsyncDisposable
{
    // Shared Lua: removing a connection from a group; returns 0 when the user is still in it (or
    // was not), 1 when they left it entirely, 2 when they left it and it has no member left (the
    // hash's last field gone, Redis removed the key).
    // The next sequence number of group g's transitions (see the class summary). TIME's parts
    // are joined as text: a Lua number of 16 digits would be formatted with 14.
    private const string SeqFunction = """
        local function nextseq(P, g)
          local k = P .. ':p:gs:' .. g
          if redis.call('EXISTS', k) == 0 then
            local t = redis.call('TIME')
            redis.call('SET', k, t[1] .. string.format('%06d', tonumber(t[2])))
          end
          local s = redis.call('INCR', k)
          redis.call('PEXPIRE', k, 2592000000)
          return s
        end
        """;

    /// <summary>How long a group's sequence counter outlives the group's last transition (30 days).</summary>
    public static readonly TimeSpan SeqLifetime = TimeSpan.FromMilliseconds(2592000000);

    // ... and its sequence number as a second value when it is a transition (1 or 2).
    private const string LeaveFunction = SeqFunction + "\n" + """
        local function leave(P, c, u, g)
          if redis.call('SREM', P .. ':p:cg:' .. c, g) == 0 then return 0 end
          local n = redis.call('HINCRBY', P .. ':p:g:' .. g, u, -1)
          if n <= 0 then
            redis.call('HDEL', P .. ':p:g:' .. g, u)
            redis.call('HDEL', P .. ':p:gm:' .. g, u)
            if redis.call('EXISTS', P .. ':p:g:' .. g) == 0 then return 2, nextseq(P, g) end
            return 1, nextseq(P, g)
          end
          return 0
        end
        local function disconnect(P, c, now)
          local ck = P .. ':p:c:' .. c
          local u = redis.call('HGET', ck, 'u')
          if not u then return {} end
          local node = redis.call('HGET', ck, 'node')
          local name = redis.call('HGET', ck, 'n') or u
          local left = {}
          local vacated = {}
          local seqs = {}
          for _, g in ipairs(redis.call('SMEMBERS', P .. ':p:cg:' .. c)) do
            local r, s = leave(P, c, u, g)
            if r > 0 then table.insert(left, g); table.insert(vacated, r - 1); table.insert(seqs, s) end
          end
          redis.call('DEL', ck, P .. ':p:cg:' .. c)
          redis.call('SREM', P .. ':p:nc:' .. node, c)
          redis.call('SREM', P .. ':p:uc:' .. u, c)
          if redis.call('SCARD', P .. ':p:uc:' .. u) == 0 then redis.call('SET', P .. ':p:seen:' .. u, now) end
          return {u, name, left, vacated, seqs}
        end
        """;

    private const string ConnectScript = """
        local P, c, u, name, node = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
        local ck = P .. ':p:c:' .. c
        -- A process is alive from its first connection, not only from its first heartbeat:
        -- otherwise another process could sweep it in between. Whether this made the key is
        -- returned: for a process that had registered before, its key was gone (swept, or Redis
        -- lost its data), and the heartbeat that follows will find it present.
        local created = redis.call('SET', P .. ':p:alive:' .. node, '1', 'PX', ARGV[6], 'NX') and 1 or 0
        if redis.call('EXISTS', ck) == 0 then
          redis.call('HSET', ck, 'u', u, 'n', name, 'node', node)
          redis.call('SADD', P .. ':p:nc:' .. node, c)
          redis.call('SADD', P .. ':p:uc:' .. u, c)
          redis.call('SADD', P .. ':p:nodes', node)
        end
        return {redis.call('SCARD', P .. ':p:uc:' .. u), created}
        """;

    private const string DisconnectScript = LeaveFunction + "\n" + """
        local r = disconnect(ARGV[1], ARGV[2], ARGV[3])
        if not r[1] then return {} end
        return {r[1], r[2], r[3], r[4], r[5]}
        """;

    private const string JoinScript = SeqFunction + "\n" + """
        local P, g, c, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
        local ck = P .. ':p:c:' .. c
        local u = redis.call('HGET', ck, 'u')
        if not u then return false end
        if redis.call('SADD', P .. ':p:cg:' .. c, g) == 0 then return false end
        local name = redis.call('HGET', ck, 'n')
        if redis.call('HINCRBY', P .. ':p:g:' .. g, u, 1) == 1 then
          redis.call('HSET', P .. ':p:gm:' .. g, u, now .. '|' .. name)
          local occupied = 0
          if redis.call('HLEN', P .. ':p:g:' .. g) == 1 then occupied = 1 end
          return {u, name, occupied, nextseq(P, g)}
        end
        return false
        """;

    private const string LeaveScript = LeaveFunction + "\n" + """
        local P, g, c = ARGV[1], ARGV[2], ARGV[3]
        local ck = P .. ':p:c:' .. c
        local u = redis.call('HGET', ck, 'u')
        if not u then return false end
        local r, s = leave(P, c, u, g)
        if r > 0 then return {u, redis.call('HGET', ck, 'n'), r - 1, s} end
        return false
        """;

    private const string UserScript = """
        local P, u = ARGV[1], ARGV[2]
        local conns = redis.call('SMEMBERS', P .. ':p:uc:' .. u)
        local groups = {}
        for _, c in ipairs(conns) do
          for _, g in ipairs(redis.call('SMEMBERS', P .. ':p:cg:' .. c)) do groups[g] = true end
        end
        local list = {}
        for g, _ in pairs(groups) do table.insert(list, g) end
        return {conns, list, redis.call('GET', P .. ':p:seen:' .. u) or false}
        """;

    // Renews this process's heartbeat; returns 0 when it had expired (or never existed).
    private const string HeartbeatScript = """
        local key = ARGV[1] .. ':p:alive:' .. ARGV[2]
        local existed = redis.call('EXISTS', key)
        redis.call('SET', key, '1', 'PX', ARGV[3])
        redis.call('SADD', ARGV[1] .. ':p:nodes', ARGV[2])
        return existed
        """;

    // Removes a dead process's connections, unless its heartbeat is back. Returns how many, and
    // (group, user, name, vacated, seq) for each user who left a group entirely: only the one sweeper
    // that ran this gets them, so each departure is announced once.
    private const string SweepScript = LeaveFunction + "\n" + """
        local P, node, now = ARGV[1], ARGV[2], ARGV[3]
        if redis.call('EXISTS', P .. ':p:alive:' .. node) == 1 then return {-1, {}} end
        local removed = 0
        local departed = {}
        for _, c in ipairs(redis.call('SMEMBERS', P .. ':p:nc:' .. node)) do
          local r = disconnect(P, c, now)
          if r[1] then
            for i, g in ipairs(r[3]) do
              table.insert(departed, g); table.insert(departed, r[1]); table.insert(departed, r[2]); table.insert(departed, r[4][i])
              table.insert(departed, r[5][i])
            end
          end
          removed = removed + 1
        end
        redis.call('DEL', P .. ':p:nc:' .. node)
        redis.call('SREM', P .. ':p:nodes', node)
        return {removed, departed}
        """;

    private readonly RedisConnection _redis;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly string _prefix;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, LocalConnection> _mine = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _upkeep;
    private volatile bool _dirty;
    private int _disposed;
    private volatile bool _registered;

    public RedisPresenceStore(RedisConnection redis, TimeProvider time, ILogger<RedisPresenceStore> logger)
    {
        _redis = redis;
        _time = time;
        _logger = logger;
        _prefix = redis.Prefix;
        _upkeep = UpkeepAsync(_stopping.Token);
    }

    /// <summary>
    /// Users who left a group entirely because this process swept the connections of a dead
    /// one: the hubs announce them (<c>PresenceLeft</c>), as they do for a disconnect.
    /// </summary>
    public event Func<IReadOnlyList<PresenceChange>, Task>? DeadProcessSwept;

    /// <summary>This process's id in presence.</summary>
    public string ProcessId { get; } = Environment.MachineName + "-" + Environment.ProcessId + "-" + Guid.NewGuid().ToString("N")[..8];

    public async ValueTask<int> ConnectedAsync(string connectionId, string userId, string name)
    {
        lock (_lock) _mine.TryAdd(connectionId, new LocalConnection(userId, name));
        var reply = (RedisResult[])(await Run(ConnectScript, _prefix, connectionId, userId, name, ProcessId, TimeoutMs))!;
        if ((long)reply[1] == 1 && _registered)
        {
            // This process's heartbeat key was gone and this connect made it again, so the next
            // heartbeat finds it present: the connections swept meanwhile go back with it.
            _dirty = true;
        }
        return (int)(long)reply[0];
    }

    public async ValueTask<IReadOnlyList<PresenceChange>> DisconnectedAsync(string connectionId)
    {
        lock (_lock) _mine.Remove(connectionId);
        var reply = (RedisResult[])(await Run(DisconnectScript, _prefix, connectionId, NowMs()))!;
        if (reply.Length == 0) return [];
        var userId = (string)reply[0]!;
        var name = (string)reply[1]!;
        var vacated = (RedisResult[])reply[3]!;
        var seqs = (RedisResult[])reply[4]!;
        return [.. ((RedisResult[])reply[2]!).Select((g, i) => new PresenceChange((string)g!, userId, name)
        {
            ChangesOccupancy = (long)vacated[i] == 1, Seq = (long)seqs[i],
        })];
    }

    public async ValueTask<PresenceChange?> JoinAsync(string group, string connectionId)
    {
        lock (_lock)
        {
            if (_mine.TryGetValue(connectionId, out var local)) local.Groups.Add(group);
        }
        var reply = await Run(JoinScript, _prefix, group, connectionId, NowMs());
        return reply.IsNull ? null : Change(group, reply);
    }

    public async ValueTask<PresenceChange?> LeaveAsync(string group, string connectionId)
    {
        lock (_lock)
        {
            if (_mine.TryGetValue(connectionId, out var local)) local.Groups.Remove(group);
        }
        var reply = await Run(LeaveScript, _prefix, group, connectionId);
        return reply.IsNull ? null : Change(group, reply);
    }

    public async ValueTask<GroupPresence> GetGroupAsync(string group)
    {
        var database = await _redis.DatabaseAsync();
        var counts = database.HashGetAllAsync(_redis.Key("p:g:" + group));
        var members = database.HashGetAllAsync(_redis.Key("p:gm:" + group));
        var details = (await members).ToDictionary(e => (string)e.Name!, e => (string)e.Value!, StringComparer.Ordinal);
        var list = new List<PresenceMember>();
        foreach (var entry in await counts)
        {
            var userId = (string)entry.Name!;
            var connections = (int)entry.Value;
            if (connections <= 0 || !details.TryGetValue(userId, out var detail)) continue;
            var bar = detail.IndexOf('|');
            list.Add(new PresenceMember(userId, detail[(bar + 1)..], connections, FromMs(long.Parse(detail.AsSpan(0, bar)))));
        }
        list.Sort((a, b) => string.CompareOrdinal(a.UserId, b.UserId));
        return new GroupPresence(group, list.Count, list.Sum(m => m.Connections), list);
    }

    public async ValueTask<UserPresence> GetUserAsync(string userId)
    {
        var reply = (RedisResult[])(await Run(UserScript, _prefix, userId))!;
        var connections = ((RedisResult[])reply[0]!).Select(c => (string)c!).Order(StringComparer.Ordinal).ToList();
        var groups = ((RedisResult[])reply[1]!).Select(g => (string)g!).Order(StringComparer.Ordinal).ToList();
        DateTime? lastSeen = reply[2].IsNull || connections.Count > 0 ? null : FromMs(long.Parse((string)reply[2]!));
        return new UserPresence(userId, connections.Count > 0, connections.Count, lastSeen, groups) { ConnectionIds = connections };
    }

    public async ValueTask<string?> GetConnectionUserAsync(string connectionId)
    {
        var database = await _redis.DatabaseAsync();
        return await database.HashGetAsync(_redis.Key("p:c:" + connectionId), "u");
    }

    /// <summary>One heartbeat and sweep now (they also run in the background).</summary>
    public async Task UpkeepOnceAsync()
    {
        var alive = (long)await Run(HeartbeatScript, _prefix, ProcessId, TimeoutMs);
        // Expired or gone (Redis lost its data) after this process had registered: put everything back.
        if ((alive == 0 && _registered) || _dirty)
        {
            await ResynchroniseAsync();
        }
        _registered = true;
        var database = await _redis.DatabaseAsync();
        foreach (var node in await database.SetMembersAsync(_redis.Key("p:nodes")))
        {
            if ((string)node! == ProcessId) continue;
            if (await database.KeyExistsAsync(_redis.Key("p:alive:" + node))) continue;
            var reply = (RedisResult[])(await Run(SweepScript, _prefix, (string)node!, NowMs()))!;
            var removed = (long)reply[0];
            if (removed < 0) continue; // its heartbeat is back
            RedisLog.DeadProcessRemoved(_logger, node!, removed);
            var departed = (RedisResult[])reply[1]!;
            if (departed.Length > 0 && DeadProcessSwept is { } announce)
            {
                var changes = new List<PresenceChange>(departed.Length / 5);
                for (var i = 0; i + 4 < departed.Length; i += 5)
                {
                    changes.Add(new PresenceChange((string)departed[i]!, (string)departed[i + 1]!, (string)departed[i + 2]!)
                    {
                        ChangesOccupancy = (long)departed[i + 3] == 1, Seq = (long)departed[i + 4],
                    });
                }
                await announce(changes);
            }
        }
    }

    /// <summary>
    /// Makes Redis hold exactly this process's connections and their groups. Runs beside live
    /// changes: every change updates the mirror before Redis, so each decision here re-reads the
    /// mirror at the moment it is made, and a change that races it marks the store dirty on failure.
    /// </summary>
    private async Task ResynchroniseAsync()
    {
        _dirty = false;
        List<KeyValuePair<string, LocalConnection>> mine;
        lock (_lock) mine = [.. _mine.Select(e => KeyValuePair.Create(e.Key, e.Value.Snapshot()))];
        var database = await _redis.DatabaseAsync();
        var known = mine.Select(e => e.Key).ToHashSet(StringComparer.Ordinal);
        try
        {
            foreach (var stale in await database.SetMembersAsync(_redis.Key("p:nc:" + ProcessId)))
            {
                if (!known.Contains(stale!) && !IsMine(stale!)) await Run(DisconnectScript, _prefix, (string)stale!, NowMs());
            }
            foreach (var (connectionId, local) in mine)
            {
                if (!IsMine(connectionId)) continue; // closed meanwhile
                await Run(ConnectScript, _prefix, connectionId, local.UserId, local.Name, ProcessId, TimeoutMs);
                var stored = (await database.SetMembersAsync(_redis.Key("p:cg:" + connectionId))).Select(g => (string)g!).ToHashSet(StringComparer.Ordinal);
                foreach (var group in local.Groups.Where(g => !stored.Contains(g)))
                {
                    if (IsMine(connectionId, group)) await Run(JoinScript, _prefix, group, connectionId, NowMs());
                }
                foreach (var group in stored.Where(g => !local.Groups.Contains(g)))
                {
                    if (!IsMine(connectionId, group)) await Run(LeaveScript, _prefix, group, connectionId);
                }
            }
        }
        catch
        {
            _dirty = true;
            throw;
        }
        RedisLog.Resynchronised(_logger, ProcessId, mine.Count);
    }

    private bool IsMine(string connectionId, string? group = null)
    {
        lock (_lock) return _mine.TryGetValue(connectionId, out var local) && (group is null || local.Groups.Contains(group));
    }

    private async Task UpkeepAsync(CancellationToken stopping)
    {
        await Task.Yield();
        using var timer = new PeriodicTimer(_redis.Options.HeartbeatInterval, _time);
        do
        {
            try
            {
                await UpkeepOnceAsync();
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                _dirty = true;
                RedisLog.HeartbeatFailed(_logger, e);
            }
        }
        while (await timer.WaitForNextTickAsync(stopping));
    }

    public async ValueTask DisposeAsync()
    {
        // Registered as itself and as IPresenceStore: the container may dispose it twice.
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        await _stopping.CancelAsync();
        try
        {
            await _upkeep;
        }
        catch (OperationCanceledException)
        {
        }
        // A clean stop leaves no ghosts: this process's connections leave presence now rather than after the timeout.
        try
        {
            await Run(HeartbeatDeleteScript, _prefix, ProcessId);
            await Run(SweepScript, _prefix, ProcessId, NowMs());
        }
        catch (Exception)
        {
            // Redis away or the connection already closed: the other processes sweep these after the timeout.
        }
        _stopping.Dispose();
    }

    private const string HeartbeatDeleteScript = "redis.call('DEL', ARGV[1] .. ':p:alive:' .. ARGV[2]) return 1";

    private async Task<RedisResult> Run(string script, params RedisValue[] args)
    {
        var database = await _redis.DatabaseAsync();
        try
        {
            return await database.ScriptEvaluateAsync(script, [], args);
        }
        catch
        {
            _dirty = true;
            throw;
        }
    }

    private static PresenceChange Change(string group, RedisResult reply)
    {
        var parts = (RedisResult[])reply!;
        return new PresenceChange(group, (string)parts[0]!, (string)parts[1]!) { ChangesOccupancy = (long)parts[2] == 1, Seq = (long)parts[3] };
    }

    private long TimeoutMs => (long)_redis.Options.ProcessTimeout.TotalMilliseconds;

    private long NowMs() => _time.GetUtcNow().ToUnixTimeMilliseconds();

    private static DateTime FromMs(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms).UtcDateTime;

    private sealed class LocalConnection(string userId, string name)
    {
        public string UserId { get; } = userId;
        public string Name { get; } = name;
        public HashSet<string> Groups { get; init; } = new(StringComparer.Ordinal);

        public LocalConnection Snapshot() => new(UserId, Name) { Groups = new(Groups, StringComparer.Ordinal) };
    }
}
