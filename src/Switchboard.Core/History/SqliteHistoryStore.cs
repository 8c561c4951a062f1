using System.Security.Cryptography;
using System.Text;
using System.Threading.Channels;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Switchboard.Core.Diagnostics;

namespace Switchboard.Core.History;

/// <summary>
/// Embedded durable <see cref="IHistoryStore"/>: one SQLite file at
/// <c>Path.Combine(DataFolder, FileName)</c> in WAL mode, meant for one server process. Offsets
/// and duplicates are decided under SQLite's write lock from what the file holds, not from memory,
/// so another store on the same file (a second process) stays correct; the two just take turns.
/// <para>
/// Writes: every append goes into a channel read by a single writer loop, which takes everything
/// pending (up to <see cref="HistoryOptions.MaxBatchSize"/>), assigns offsets and writes the whole
/// batch in one transaction; each caller's task completes only after that commit. A burst of
/// appends therefore costs a handful of fsyncs instead of one each, and appends never contend
/// with each other for SQLite's write lock. Retention runs through the same loop.
/// </para>
/// <para>
/// Reads open their own pooled connections: WAL lets them read a consistent snapshot while the
/// writer commits, so recovery never queues behind publishing.
/// </para>
/// <para>
/// The idempotency window and <see cref="HistoryOptions.MaxAge"/> are measured from each message's
/// <see cref="NewGroupMessage.Timestamp"/> (which the publish path stamps with the server clock)
/// to the injected <see cref="TimeProvider"/>'s now. A duplicate is found by looking the id up in
/// the file, so it survives restarts, but only while the original is retained: an id whose
/// message retention already removed is stored again.
/// </para>
/// <para>
/// Epochs: the database gets a random instance id when it is created; a group's epoch is derived
/// from that id and the group name and stored in the group's row with its first message. A group
/// that never had a message therefore already has its final epoch (reads never write), and
/// losing the file loses the instance id, so every epoch changes.
/// </para>
/// </summary>
public sealed class SqliteHistoryStore : IHistoryStore, IAsyncDisposable, IDisposable
{
    // 2: client-chosen ids in their own table (history_ids) instead of an index over every
    // message's id, and a group's row written when the group is created and when retention
    // trims it, not with every batch (its top offset is the larger of its last_offset and its
    // newest message). Both cut the pages each commit writes (docs/benchmarks.md). Version 1
    // files are upgraded in place when opened; a version 1 build refuses a version 2 file.
    private const int SchemaVersion = 2;

    // How long a statement waits for a lock before failing (the batch then fails). Only someone
    // else on the file (another process, a backup, the sqlite3 shell) holds a lock: this store has
    // a single writer connection, and WAL readers take none that blocks it.
    private static readonly TimeSpan BusyTimeout = TimeSpan.FromSeconds(5);

    // Retention deletes this many groups per transaction, so appends queued meanwhile get the
    // writer between two chunks instead of waiting for a trim of every group.
    private const int TrimGroupsPerTransaction = 256;

    private readonly HistoryOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SwitchboardMetrics? _metrics;
    private readonly string _path;
    private readonly string _writerConnectionString;
    private readonly string _readerConnectionString;
    private readonly string _instanceId;
    private readonly string? _runKey;
    private int _pendingCompletions;
    private readonly Channel<WriteRequest> _requests =
        Channel.CreateUnbounded<WriteRequest>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _writerLoop;
    private readonly Task _trimLoop;
    private readonly Lock _disposeLock = new();
    private Task? _disposal;

    // Used only by the writer loop (and by the constructor before the loop starts).
    private SqliteConnection? _writer;
    private (SqliteCommand LoadGroup, SqliteCommand FindId, MessageInsert Insert, SqliteCommand InsertId, SqliteCommand CreateGroup)? _appendCommands;
    private long _transactionsCommitted;

    /// <param name="options">Where the file is and what it keeps.</param>
    /// <param name="time">The clock for timestamps, retention and the idempotency window.</param>
    /// <param name="logger">Opening, trimming and failed batches.</param>
    /// <param name="metrics">When given, records each committed batch's size (<c>switchboard.history.batch.size</c>).</param>
    public SqliteHistoryStore(IOptions<HistoryOptions> options, TimeProvider time, ILogger<SqliteHistoryStore> logger,
        SwitchboardMetrics? metrics = null)
        : this(options, time, logger, metrics, BootIdentity.Current())
    {
    }

    /// <param name="bootId">This boot of the machine (Linux's boot id), or null where unknown; tests pass their own.</param>
    /// <param name="beforeRun">Tests only: runs between creating the schema and recording this run.</param>
    internal SqliteHistoryStore(IOptions<HistoryOptions> options, TimeProvider time, ILogger<SqliteHistoryStore> logger,
        SwitchboardMetrics? metrics, string? bootId, Action? beforeRun = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);
        _options = options.Value;
        var validation = new HistoryOptionsValidator().Validate(null, _options);
        if (validation.Failed)
        {
            throw new OptionsValidationException(Options.DefaultName, typeof(HistoryOptions), validation.Failures ?? []);
        }
        _time = time;
        _logger = logger;
        _metrics = metrics;

        Directory.CreateDirectory(_options.DataFolder);
        _path = Path.GetFullPath(Path.Combine(_options.DataFolder, _options.FileName));
        var builder = new SqliteConnectionStringBuilder
        {
            DataSource = _path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            DefaultTimeout = (int)BusyTimeout.TotalSeconds,
            Pooling = false, // the writer's connection lives as long as the store
        };
        _writerConnectionString = builder.ToString();
        builder.Mode = SqliteOpenMode.ReadWrite; // readers never create the file
        builder.Pooling = true;
        _readerConnectionString = builder.ToString();

        _writer = OpenWriterConnection();
        try
        {
            _instanceId = InitializeSchema(_writer);
            beforeRun?.Invoke();
            if (bootId is not null)
            {
                // Another process on the file may have renewed the instance id since the schema
                // was read: the run decides, and reads the id, in one transaction.
                (_instanceId, _runKey) = BeginRun(_writer, bootId);
            }
        }
        catch
        {
            _writer.Dispose();
            throw;
        }

        _writerLoop = Task.Run(RunWriterLoopAsync);
        _trimLoop = Task.Run(RunTrimLoopAsync);
        HistoryLog.Opened(_logger, _path, _options.Durability);
    }

    /// <summary>
    /// Append transactions committed since the store opened (retention's are not counted). With
    /// batching, far fewer than the appends acknowledged.
    /// </summary>
    public long TransactionsCommitted => Interlocked.Read(ref _transactionsCommitted);

    /// <summary>Full path of the database file.</summary>
    public string DatabasePath => _path;

    public ValueTask<AppendResult> AppendAsync(NewGroupMessage message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentException.ThrowIfNullOrEmpty(message.Group, "message.Group");
        ArgumentException.ThrowIfNullOrEmpty(message.Id, "message.Id");
        ArgumentNullException.ThrowIfNull(message.Payload, "message.Payload");
        ThrowIfDisposed();
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<AppendResult>(cancellationToken);
        }

        var request = new AppendRequest(message, cancellationToken);
        if (!_requests.Writer.TryWrite(request))
        {
            request.Abandon();
            throw new ObjectDisposedException(nameof(SqliteHistoryStore));
        }
        return new ValueTask<AppendResult>(request.Task);
    }

    public ValueTask<StreamPosition> GetPositionAsync(string group, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(group);
        ThrowIfDisposed();
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<StreamPosition>(cancellationToken);
        }
        try
        {
            using var connection = OpenReaderConnection();
            return ValueTask.FromResult(ReadPosition(connection, null, group));
        }
        catch (Exception ex)
        {
            return ValueTask.FromException<StreamPosition>(ex);
        }
    }

    public ValueTask<HistoryPage> ReadAsync(string group, long afterOffset, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(group);
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        ThrowIfDisposed();
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<HistoryPage>(cancellationToken);
        }
        try
        {
            return ValueTask.FromResult(ReadPage(group, afterOffset, limit));
        }
        catch (Exception ex)
        {
            return ValueTask.FromException<HistoryPage>(ex);
        }
    }

    public async ValueTask<int> TrimAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
        var ageCutoff = AgeCutoffTicks();

        List<string> groups;
        using (var connection = OpenReaderConnection())
        {
            groups = ReadTrimCandidates(connection, ageCutoff);
        }

        var removed = 0;
        foreach (var chunk in groups.Chunk(TrimGroupsPerTransaction))
        {
            // Checked between chunks only: a chunk handed to the writer runs to its commit.
            cancellationToken.ThrowIfCancellationRequested();
            var request = new TrimRequest(chunk, ageCutoff);
            if (!_requests.Writer.TryWrite(request))
            {
                throw new ObjectDisposedException(nameof(SqliteHistoryStore));
            }
            removed += await request.Task.ConfigureAwait(false);
        }
        if (removed > 0)
        {
            HistoryLog.Trimmed(_logger, removed, groups.Count);
        }
        return removed;
    }

    /// <summary>
    /// Stops retention, lets the writer commit every append accepted so far, then closes the file.
    /// Appends after this point throw <see cref="ObjectDisposedException"/>.
    /// </summary>
    public ValueTask DisposeAsync()
    {
        lock (_disposeLock)
        {
            _disposal ??= DisposeCoreAsync();
            return new ValueTask(_disposal);
        }
    }

    /// <summary>
    /// For containers disposed synchronously, which throw on a singleton that is only
    /// <see cref="IAsyncDisposable"/>. The loops never need the calling thread, so blocking is safe.
    /// </summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    private async Task DisposeCoreAsync()
    {
        // Retention first: it may be waiting on a chunk in the channel, which the writer still serves.
        _stopping.Cancel();
        await _trimLoop.ConfigureAwait(false);

        // Completing the channel lets the writer drain what was accepted and then end.
        _requests.Writer.TryComplete();
        await _writerLoop.ConfigureAwait(false);

        DisposeAppendCommands();
        EndRun();
        _writer?.Dispose();
        _writer = null;
        using (var forPool = new SqliteConnection(_readerConnectionString))
        {
            SqliteConnection.ClearPool(forPool); // closes idle readers, so the file is released
        }
        _stopping.Dispose();
        HistoryLog.Closed(_logger, _path);
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposal) is not null, this);

    // ---------------------------------------------------------------- schema and connections

    private SqliteConnection OpenWriterConnection()
    {
        var connection = new SqliteConnection(_writerConnectionString);
        try
        {
            connection.Open();
            var mode = Scalar<string>(connection, null, "PRAGMA journal_mode = WAL;");
            if (!string.Equals(mode, "wal", StringComparison.OrdinalIgnoreCase))
            {
                throw new InvalidOperationException(
                    $"The history database {_path} could not switch to WAL journal mode (it reports '{mode}'); " +
                    "put HistoryOptions.DataFolder on a local file system.");
            }
            // In WAL mode, NORMAL syncs only at checkpoints: a commit survives a process crash
            // (the OS has the write) but not a power cut or kernel panic. FULL syncs the WAL on
            // every commit, so an acknowledged append survives those too; batching pays for it
            // with one fsync per batch instead of per message.
            Execute(connection, null, $"PRAGMA synchronous = {(_options.Durability == HistoryDurability.PowerLoss ? "FULL" : "NORMAL")};");
            Execute(connection, null, $"PRAGMA busy_timeout = {(int)BusyTimeout.TotalMilliseconds};");
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    private SqliteConnection OpenReaderConnection()
    {
        var connection = new SqliteConnection(_readerConnectionString);
        try
        {
            connection.Open();
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>Creates the tables when missing; returns the database's instance id.</summary>
    private static string InitializeSchema(SqliteConnection connection)
    {
        var transaction = connection.BeginTransaction(deferred: false);
        try
        {
            var version = Scalar<long>(connection, transaction, "PRAGMA user_version;");
            if (version > SchemaVersion)
            {
                throw new InvalidOperationException(
                    $"The history database has schema version {version}; this build understands up to {SchemaVersion}.");
            }
            // Timestamps are UTC DateTime ticks: exact round trips and cheap range comparisons.
            Execute(connection, transaction, """
                CREATE TABLE IF NOT EXISTS history_meta (
                    key   TEXT NOT NULL PRIMARY KEY,
                    value TEXT NOT NULL
                ) WITHOUT ROWID;

                CREATE TABLE IF NOT EXISTS history_groups (
                    name        TEXT    NOT NULL PRIMARY KEY,
                    epoch       TEXT    NOT NULL,
                    last_offset INTEGER NOT NULL,
                    created_at  INTEGER NOT NULL
                ) WITHOUT ROWID;

                -- A rowid table rather than WITHOUT ROWID: payloads can be large, and SQLite
                -- advises WITHOUT ROWID only for small rows.
                CREATE TABLE IF NOT EXISTS history_messages (
                    group_name     TEXT    NOT NULL,
                    message_offset INTEGER NOT NULL,
                    id             TEXT    NOT NULL,
                    sender_id      TEXT,
                    sender_name    TEXT,
                    timestamp      INTEGER NOT NULL,
                    payload        TEXT    NOT NULL,
                    PRIMARY KEY (group_name, message_offset)
                );

                -- The idempotency lookup: only messages published with a client-chosen id, the only
                -- ones ever looked up by id (server-chosen ids are unique by construction).
                -- message_offset is in the key so that "newest with this id" is read off it.
                CREATE TABLE IF NOT EXISTS history_ids (
                    group_name     TEXT    NOT NULL,
                    id             TEXT    NOT NULL,
                    message_offset INTEGER NOT NULL,
                    PRIMARY KEY (group_name, id, message_offset)
                ) WITHOUT ROWID;
                """);
            if (version == 1)
            {
                // Version 1 indexed every message's id and did not record which were the client's:
                // all of them become lookups, which answers exactly as version 1 did.
                Execute(connection, transaction, """
                    INSERT OR IGNORE INTO history_ids (group_name, id, message_offset)
                    SELECT group_name, id, message_offset FROM history_messages;
                    DROP INDEX IF EXISTS history_messages_by_id;
                    """);
            }
            Execute(connection, transaction, $"PRAGMA user_version = {SchemaVersion};");
            Execute(connection, transaction,
                "INSERT OR IGNORE INTO history_meta (key, value) VALUES ('instance', $id);",
                ("$id", Guid.NewGuid().ToString("N")));
            var instance = Scalar<string>(connection, transaction, "SELECT value FROM history_meta WHERE key = 'instance';");
            transaction.Commit();
            transaction.Dispose();
            return instance ?? throw new InvalidOperationException("The history database has no instance id.");
        }
        catch
        {
            transaction.Dispose();
            throw;
        }
    }

    /// <summary>The epoch a group has (or will get with its first message) in this database.</summary>
    private string EpochFor(string group) => EpochOf(_instanceId, group);

    private static string EpochOf(string instance, string group)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(instance + "\n" + group), hash);
        return Convert.ToHexStringLower(hash[..8]);
    }

    /// <summary>
    /// Records this run in the file (<c>run:{id}</c> = boot id and durability; removed by a clean
    /// stop), and first looks at the runs recorded before it. A run of an earlier boot that never
    /// stopped cleanly ended with the machine (a power cut, a kernel panic, a reset), and with
    /// <see cref="HistoryDurability.ProcessCrash"/> its last commits may be gone: offsets it
    /// acknowledged would be given again to other messages under the same epoch, and a client
    /// that had one of the lost messages would be told <c>recovered: true</c> and miss the new
    /// one. So the database gets a new instance id, and every group a new epoch: such clients are
    /// told <c>recovered: false</c> and reload. A run of this boot that did not stop cleanly was a
    /// process crash, which <c>ProcessCrash</c> survives, or is still running. Returns the instance
    /// id the file holds once this run is recorded: renewed here, or by another process sharing
    /// the file that recorded its run first.
    /// </summary>
    private (string Instance, string RunKey) BeginRun(SqliteConnection connection, string bootId)
    {
        // This record must outlive a power cut whatever the durability: synced like PowerLoss's commits.
        Execute(connection, null, "PRAGMA synchronous = FULL;");
        try
        {
            using var transaction = connection.BeginTransaction(deferred: false);
            var instance = Scalar<string>(connection, transaction, "SELECT value FROM history_meta WHERE key = 'instance';")
                ?? throw new InvalidOperationException("The history database has no instance id.");
            var ended = new List<string>();
            var lost = false;
            using (var runs = Command(connection, transaction, "SELECT key, value FROM history_meta WHERE key LIKE 'run:%';", []))
            using (var reader = runs.ExecuteReader())
            {
                while (reader.Read())
                {
                    var parts = reader.GetString(1).Split(' ');
                    if (parts[0] == bootId)
                    {
                        continue;
                    }
                    ended.Add(reader.GetString(0));
                    lost |= parts.Length < 2 || parts[1] != nameof(HistoryDurability.PowerLoss);
                }
            }
            foreach (var key in ended)
            {
                Execute(connection, transaction, "DELETE FROM history_meta WHERE key = $key;", ("$key", key));
            }
            if (lost)
            {
                instance = Guid.NewGuid().ToString("N");
                Execute(connection, transaction, "UPDATE history_meta SET value = $id WHERE key = 'instance';", ("$id", instance));
                var groups = new List<string>();
                using (var names = Command(connection, transaction, "SELECT name FROM history_groups;", []))
                using (var reader = names.ExecuteReader())
                {
                    while (reader.Read()) groups.Add(reader.GetString(0));
                }
                foreach (var group in groups)
                {
                    Execute(connection, transaction, "UPDATE history_groups SET epoch = $epoch WHERE name = $name;",
                        ("$epoch", EpochOf(instance, group)), ("$name", group));
                }
                HistoryLog.EpochsRenewed(_logger, _path, groups.Count);
            }
            var runKey = "run:" + Guid.NewGuid().ToString("N");
            Execute(connection, transaction, "INSERT INTO history_meta (key, value) VALUES ($key, $value);",
                ("$key", runKey), ("$value", bootId + " " + _options.Durability));
            transaction.Commit();
            return (instance, runKey);
        }
        finally
        {
            Execute(connection, null, $"PRAGMA synchronous = {(_options.Durability == HistoryDurability.PowerLoss ? "FULL" : "NORMAL")};");
        }
    }

    /// <summary>A clean stop: this run's record goes, so the next start knows nothing was lost.</summary>
    private void EndRun()
    {
        if (_runKey is null || _writer is null)
        {
            return;
        }
        try
        {
            Execute(_writer, null, "DELETE FROM history_meta WHERE key = $key;", ("$key", _runKey));
        }
        catch (SqliteException)
        {
            // The record stays: the next start after a reboot renews the epochs, which is only cautious.
        }
    }

    // ---------------------------------------------------------------- writer loop

    private async Task RunWriterLoopAsync()
    {
        var reader = _requests.Reader;
        var batch = new List<AppendRequest>(Math.Min(_options.MaxBatchSize, 1024));
        // Ends once the channel is completed (disposal) and drained: everything accepted is written.
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            // Everything that queued up while the previous commit was syncing becomes one batch.
            while (reader.TryRead(out var request))
            {
                switch (request)
                {
                    case AppendRequest append:
                        if (append.TryTake())
                        {
                            batch.Add(append);
                            if (batch.Count >= _options.MaxBatchSize)
                            {
                                CommitBatch(batch);
                            }
                        }
                        break;
                    case TrimRequest trim:
                        // Keep channel order: appends queued before the trim are written first.
                        CommitBatch(batch);
                        RunTrim(trim);
                        break;
                }
            }
            CommitBatch(batch);
        }
        // Disposal promises that every accepted append is completed when it returns.
        while (Volatile.Read(ref _pendingCompletions) > 0)
        {
            await Task.Delay(1).ConfigureAwait(false);
        }
    }

    private void CommitBatch(List<AppendRequest> batch)
    {
        if (batch.Count == 0)
        {
            return;
        }
        AppendResult[] results;
        try
        {
            results = WriteBatch(batch);
        }
        catch (Exception ex)
        {
            // Offsets are read from the database inside each transaction, so a batch that did not
            // commit leaves nothing behind to correct: the next batch reuses its offsets.
            HistoryLog.BatchFailed(_logger, ex, batch.Count);
            ResetWriter();
            QueueCompletions(new Completions(this, [.. batch], null, ex));
            batch.Clear();
            return;
        }
        Interlocked.Increment(ref _transactionsCommitted);
        _metrics?.Committed(batch.Count);
        QueueCompletions(new Completions(this, [.. batch], results, null));
        batch.Clear();
    }

    /// <summary>
    /// Completes one batch's appends in order on one pool thread, their callers' continuations
    /// running inline: one thread hand-off per batch instead of one per append (measured in
    /// docs/benchmarks.md), and the writer goes on to the next batch at once.
    /// </summary>
    private void QueueCompletions(Completions completions)
    {
        Interlocked.Increment(ref _pendingCompletions);
        ThreadPool.UnsafeQueueUserWorkItem(completions, preferLocal: false);
    }

    private sealed class Completions(SqliteHistoryStore store, AppendRequest[] appends, AppendResult[]? results, Exception? error) : IThreadPoolWorkItem
    {
        public void Execute()
        {
            try
            {
                CompleteAll();
            }
            finally
            {
                Interlocked.Decrement(ref store._pendingCompletions);
            }
        }

        private void CompleteAll()
        {
            for (var i = 0; i < appends.Length; i++)
            {
                try
                {
                    if (results is not null)
                    {
                        appends[i].Complete(results[i]);
                    }
                    else
                    {
                        appends[i].Fail(error!);
                    }
                }
                catch (Exception)
                {
                    // A caller's continuation threw; the others must still be completed.
                }
            }
        }
    }

    /// <summary>
    /// Writes and commits one batch; results are in batch order. On failure the open transaction
    /// is left to <see cref="ResetWriter"/>: closing the connection rolls it back, whereas an
    /// explicit rollback that throws (after an I/O error) would hide the original error.
    /// </summary>
    private AppendResult[] WriteBatch(List<AppendRequest> batch)
    {
        var connection = _writer ??= OpenWriterConnection();
        var now = _time.GetUtcNow().UtcDateTime;
        var window = _options.IdempotencyWindow;
        var windowStart = now.Ticks - Math.Min(window.Ticks, now.Ticks);

        // IMMEDIATE takes the write lock before the offsets are read, so nothing else can move
        // them between the read and the commit.
        var transaction = connection.BeginTransaction(deferred: false);
        var (loadGroup, findId, insert, insertId, createGroup) = _appendCommands ??= PrepareAppendCommands(connection);
        loadGroup.Transaction = findId.Transaction = insertId.Transaction = createGroup.Transaction = transaction;

        var groups = new Dictionary<string, GroupState>(StringComparer.Ordinal);
        var results = new AppendResult[batch.Count];
        for (var i = 0; i < batch.Count; i++)
        {
            var message = batch[i].Message;
            if (!groups.TryGetValue(message.Group, out var group))
            {
                group = LoadGroup(loadGroup, message.Group);
                groups.Add(message.Group, group);
            }

            // The lookup runs in this transaction, so it also sees messages inserted earlier in
            // this very batch: two appends of one id in one batch store one message.
            if (window > TimeSpan.Zero && message.Idempotent && FindById(findId, message.Group, message.Id, message.SenderId, group.Epoch) is { } original
                && original.Timestamp.Ticks >= windowStart)
            {
                results[i] = new AppendResult(original, Duplicate: true);
                continue;
            }

            if (!group.Exists)
            {
                // The group's row, once: its epoch is fixed from here on, and its top offset is
                // read from its newest message (retention writes last_offset before it deletes).
                Bind(createGroup, message.Group, group.Epoch, 0L, now.Ticks);
                createGroup.ExecuteNonQuery();
                group.Exists = true;
            }
            group.LastOffset++;
            var stored = new GroupMessage(message.Id, message.Group, group.LastOffset, group.Epoch,
                message.SenderId, message.SenderName, ToUtc(message.Timestamp), message.Payload);
            insert.Execute(stored);
            if (message.Idempotent)
            {
                Bind(insertId, stored.Group, stored.Id, stored.Offset);
                insertId.ExecuteNonQuery();
            }
            results[i] = new AppendResult(stored, Duplicate: false);
        }
        transaction.Commit();
        transaction.Dispose();
        return results;
    }

    /// <summary>
    /// The writer connection's append statements, prepared once per connection and kept (SQLite
    /// prepares again by itself after a schema change): preparing them for every batch was a
    /// third of the writer's time (measured, docs/benchmarks.md).
    /// </summary>
    private static (SqliteCommand LoadGroup, SqliteCommand FindId, MessageInsert Insert, SqliteCommand InsertId, SqliteCommand CreateGroup) PrepareAppendCommands(SqliteConnection connection) =>
    (
        Command(connection, null, SelectTop, "$name"),
        Command(connection, null, """
            SELECT m.message_offset, m.sender_id, m.sender_name, m.timestamp, m.payload
            FROM history_ids i JOIN history_messages m ON m.group_name = i.group_name AND m.message_offset = i.message_offset
            WHERE i.group_name = $group AND i.id = $id AND m.sender_id IS $sender
            ORDER BY i.message_offset DESC LIMIT 1;
            """, "$group", "$id", "$sender"),
        new MessageInsert(connection),
        Command(connection, null,
            "INSERT INTO history_ids (group_name, id, message_offset) VALUES ($group, $id, $offset);",
            "$group", "$id", "$offset"),
        Command(connection, null,
            "INSERT INTO history_groups (name, epoch, last_offset, created_at) VALUES ($name, $epoch, $last, $created);",
            "$name", "$epoch", "$last", "$created")
    );

    /// <summary>
    /// A group's epoch and top offset: the larger of the last_offset in its row (written when
    /// retention trims) and its newest message, found at the end of the primary key.
    /// </summary>
    private const string SelectTop = """
        SELECT epoch, MAX(last_offset, IFNULL((SELECT MAX(message_offset) FROM history_messages WHERE group_name = $name), 0))
        FROM history_groups WHERE name = $name;
        """;

    /// <summary>
    /// The insert of one message, the statement run most: on SQLite's own API, prepared once per
    /// connection and bound by position, without ADO.NET's per-execution work (a data reader,
    /// each parameter looked up by name and converted), which was most of the writer's managed
    /// time in a profile. It runs on the writer's connection, inside the batch's transaction.
    /// </summary>
    private sealed class MessageInsert : IDisposable
    {
        private readonly SQLitePCL.sqlite3 _db;
        private readonly SQLitePCL.sqlite3_stmt _statement;

        public MessageInsert(SqliteConnection connection)
        {
            _db = connection.Handle ?? throw new InvalidOperationException("The writer connection is not open.");
            Check(SQLitePCL.raw.sqlite3_prepare_v2(_db, """
                INSERT INTO history_messages (group_name, message_offset, id, sender_id, sender_name, timestamp, payload)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7);
                """, out _statement));
        }

        public void Execute(GroupMessage message)
        {
            try
            {
                Text(1, message.Group);
                Check(SQLitePCL.raw.sqlite3_bind_int64(_statement, 2, message.Offset));
                Text(3, message.Id);
                Text(4, message.SenderId);
                Text(5, message.SenderName);
                Check(SQLitePCL.raw.sqlite3_bind_int64(_statement, 6, message.Timestamp.Ticks));
                Text(7, message.Payload);
                var result = SQLitePCL.raw.sqlite3_step(_statement);
                if (result != SQLitePCL.raw.SQLITE_DONE)
                {
                    Check(result);
                }
            }
            finally
            {
                SQLitePCL.raw.sqlite3_reset(_statement);
            }
        }

        private void Text(int index, string? value) => Check(value is null
            ? SQLitePCL.raw.sqlite3_bind_null(_statement, index)
            : SQLitePCL.raw.sqlite3_bind_text16(_statement, index, value.AsSpan()));

        private void Check(int result)
        {
            if (result != SQLitePCL.raw.SQLITE_OK)
            {
                throw new SqliteException(SQLitePCL.raw.sqlite3_errmsg(_db).utf8_to_string() ?? $"SQLite error {result}", result);
            }
        }

        public void Dispose() => _statement.Dispose();
    }

    private void DisposeAppendCommands()
    {
        if (_appendCommands is var (a, b, c, d, e))
        {
            a.Dispose();
            b.Dispose();
            c.Dispose();
            d.Dispose();
            e.Dispose();
        }
        _appendCommands = null;
    }

    private GroupState LoadGroup(SqliteCommand loadGroup, string name)
    {
        Bind(loadGroup, name);
        using var row = loadGroup.ExecuteReader();
        return row.Read()
            ? new GroupState(row.GetString(0), row.GetInt64(1), exists: true)
            : new GroupState(EpochFor(name), 0, exists: false);
    }

    /// <summary>The newest message of <paramref name="sender"/> with this id: ids are the sender's, so another's cannot stand in for it.</summary>
    private static GroupMessage? FindById(SqliteCommand findId, string group, string id, string? sender, string epoch)
    {
        Bind(findId, group, id, sender);
        using var row = findId.ExecuteReader();
        return row.Read() ? ReadMessage(row, id, group, epoch, first: 0) : null;
    }

    private void RunTrim(TrimRequest trim)
    {
        int removed;
        try
        {
            removed = TrimGroups(trim.Groups, trim.AgeCutoffTicks);
        }
        catch (Exception ex)
        {
            ResetWriter();
            trim.Fail(ex);
            return;
        }
        trim.Complete(removed);
    }

    private int TrimGroups(string[] groups, long ageCutoffTicks)
    {
        var connection = _writer ??= OpenWriterConnection();
        var transaction = connection.BeginTransaction(deferred: false);
        using var top = Command(connection, transaction, SelectTop, "$name");
        using var keepTop = Command(connection, transaction,
            "UPDATE history_groups SET last_offset = $last WHERE name = $name AND last_offset < $last;", "$name", "$last");
        // Walks the group in offset order and stops at the first message young enough to keep.
        using var firstFresh = Command(connection, transaction, """
            SELECT message_offset FROM history_messages
            WHERE group_name = $group AND timestamp >= $cutoff
            ORDER BY message_offset LIMIT 1;
            """, "$group", "$cutoff");
        using var delete = Command(connection, transaction,
            "DELETE FROM history_messages WHERE group_name = $group AND message_offset < $keep_from;",
            "$group", "$keep_from");
        using var deleteIds = Command(connection, transaction,
            "DELETE FROM history_ids WHERE group_name = $group AND message_offset < $keep_from;",
            "$group", "$keep_from");

        var removed = 0;
        foreach (var group in groups)
        {
            long last;
            Bind(top, group);
            using (var row = top.ExecuteReader())
            {
                if (!row.Read())
                {
                    continue;
                }
                last = row.GetInt64(1);
            }
            // Both rules cut a prefix, so what remains is always one run of offsets ending at the
            // top: FirstRetained stays meaningful and reads never skip a hole. A message with an
            // old timestamp behind a younger one waits for the younger one to expire.
            var keepFromCount = last - _options.MaxMessagesPerGroup + 1;
            Bind(firstFresh, group, ageCutoffTicks);
            var keepFromAge = firstFresh.ExecuteScalar() is long fresh ? fresh : last + 1;
            var keepFrom = Math.Max(keepFromCount, keepFromAge);
            if (keepFrom <= 1)
            {
                continue;
            }
            // The top is read from the newest message, which may be about to go: keep it in the row.
            Bind(keepTop, group, last);
            keepTop.ExecuteNonQuery();
            Bind(delete, group, keepFrom);
            removed += delete.ExecuteNonQuery();
            Bind(deleteIds, group, keepFrom);
            deleteIds.ExecuteNonQuery();
        }
        transaction.Commit();
        transaction.Dispose();
        return removed;
    }

    /// <summary>Drops the writer connection after an error (closing rolls back an open transaction); the next write reopens it.</summary>
    private void ResetWriter()
    {
        var connection = _writer;
        _writer = null;
        try
        {
            DisposeAppendCommands();
            connection?.Dispose();
        }
        catch (Exception ex)
        {
            HistoryLog.WriterResetFailed(_logger, ex);
        }
    }

    // ---------------------------------------------------------------- retention loop

    private async Task RunTrimLoopAsync()
    {
        using var timer = new PeriodicTimer(_options.TrimInterval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(_stopping.Token).ConfigureAwait(false))
            {
                try
                {
                    await TrimAsync(_stopping.Token).ConfigureAwait(false);
                }
                catch (Exception ex) when (_stopping.IsCancellationRequested
                    && ex is OperationCanceledException or ObjectDisposedException)
                {
                    return;
                }
                catch (Exception ex)
                {
                    HistoryLog.TrimFailed(_logger, ex, _options.TrimInterval);
                }
            }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            // Disposal.
        }
    }

    // ---------------------------------------------------------------- reads

    private HistoryPage ReadPage(string group, long afterOffset, int limit)
    {
        using var connection = OpenReaderConnection();
        // One read transaction: Top, FirstRetained and the messages come from the same snapshot.
        using var transaction = connection.BeginTransaction(deferred: true);
        var top = ReadPosition(connection, transaction, group);
        var lowest = Scalar<object>(connection, transaction,
            "SELECT MIN(message_offset) FROM history_messages WHERE group_name = $group;", ("$group", group));
        var firstRetained = lowest is long min ? min : top.Offset + 1;

        var messages = new List<GroupMessage>(Math.Min(limit, 256));
        if (limit > 0)
        {
            using var select = Command(connection, transaction, """
                SELECT message_offset, sender_id, sender_name, timestamp, payload, id
                FROM history_messages WHERE group_name = $group AND message_offset > $after
                ORDER BY message_offset LIMIT $limit;
                """, "$group", "$after", "$limit");
            Bind(select, group, afterOffset, limit);
            using var rows = select.ExecuteReader();
            while (rows.Read())
            {
                messages.Add(ReadMessage(rows, rows.GetString(5), group, top.Epoch, first: 0));
            }
        }
        transaction.Commit();
        return new HistoryPage(top, firstRetained, messages);
    }

    private StreamPosition ReadPosition(SqliteConnection connection, SqliteTransaction? transaction, string group)
    {
        using var select = Command(connection, transaction, SelectTop, "$name");
        Bind(select, group);
        using var row = select.ExecuteReader();
        return row.Read()
            ? new StreamPosition(row.GetInt64(1), row.GetString(0))
            : new StreamPosition(0, EpochFor(group));
    }

    /// <summary>
    /// The groups retention has something to remove from, chosen on a reader connection so the
    /// writer (and the appends queued behind it) only spends time on those: a group whose oldest
    /// message is older than the age cutoff, or that keeps more than the count allows. Offsets are
    /// contiguous from the oldest retained to the newest, so each test is a seek or two on the
    /// primary key. The writer decides again under its lock what to remove.
    /// </summary>
    private List<string> ReadTrimCandidates(SqliteConnection connection, long ageCutoffTicks)
    {
        using var select = Command(connection, null, """
            SELECT g.name FROM history_groups g
            WHERE (SELECT m.timestamp FROM history_messages m WHERE m.group_name = g.name ORDER BY m.message_offset LIMIT 1) < $cutoff
               OR (SELECT MAX(m.message_offset) FROM history_messages m WHERE m.group_name = g.name)
                  - (SELECT MIN(m.message_offset) FROM history_messages m WHERE m.group_name = g.name) >= $max;
            """, "$cutoff", "$max");
        Bind(select, ageCutoffTicks, (long)_options.MaxMessagesPerGroup);
        using var rows = select.ExecuteReader();
        var names = new List<string>();
        while (rows.Read())
        {
            names.Add(rows.GetString(0));
        }
        return names;
    }

    /// <summary>The groups the next retention pass would hand to the writer (tests).</summary>
    internal List<string> TrimCandidates()
    {
        using var connection = OpenReaderConnection();
        return ReadTrimCandidates(connection, AgeCutoffTicks());
    }

    /// <summary>Messages stamped before this (UTC ticks) are past <see cref="HistoryOptions.MaxAge"/>.</summary>
    private long AgeCutoffTicks()
    {
        var now = _time.GetUtcNow().UtcDateTime.Ticks;
        return now - Math.Min(_options.MaxAge.Ticks, now);
    }

    /// <summary>Reads columns offset, sender id, sender name, timestamp, payload starting at <paramref name="first"/>.</summary>
    private static GroupMessage ReadMessage(SqliteDataReader row, string id, string group, string epoch, int first) =>
        new(id, group,
            Offset: row.GetInt64(first),
            Epoch: epoch,
            SenderId: row.IsDBNull(first + 1) ? null : row.GetString(first + 1),
            SenderName: row.IsDBNull(first + 2) ? null : row.GetString(first + 2),
            Timestamp: new DateTime(row.GetInt64(first + 3), DateTimeKind.Utc),
            Payload: row.GetString(first + 4));

    /// <summary>Stored timestamps are UTC; an unspecified kind is taken to be UTC already.</summary>
    private static DateTime ToUtc(DateTime timestamp) => timestamp.Kind switch
    {
        DateTimeKind.Local => timestamp.ToUniversalTime(),
        DateTimeKind.Unspecified => DateTime.SpecifyKind(timestamp, DateTimeKind.Utc),
        _ => timestamp,
    };

    // ---------------------------------------------------------------- ADO.NET helpers

    private static SqliteCommand Command(SqliteConnection connection, SqliteTransaction? transaction, string sql, params string[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        foreach (var name in parameters)
        {
            command.Parameters.Add(new SqliteParameter { ParameterName = name });
        }
        return command;
    }

    /// <summary>Sets the command's parameters, in the order they were declared; null becomes NULL.</summary>
    private static void Bind(SqliteCommand command, params object?[] values)
    {
        for (var i = 0; i < values.Length; i++)
        {
            command.Parameters[i].Value = values[i] ?? DBNull.Value;
        }
    }

    private static void Execute(SqliteConnection connection, SqliteTransaction? transaction, string sql, params (string Name, object Value)[] parameters)
    {
        using var command = Command(connection, transaction, sql, parameters.Select(p => p.Name).ToArray());
        Bind(command, parameters.Select(p => p.Value).ToArray());
        command.ExecuteNonQuery();
    }

    private static T? Scalar<T>(SqliteConnection connection, SqliteTransaction? transaction, string sql, params (string Name, object Value)[] parameters)
    {
        using var command = Command(connection, transaction, sql, parameters.Select(p => p.Name).ToArray());
        Bind(command, parameters.Select(p => p.Value).ToArray());
        return command.ExecuteScalar() is T value ? value : default;
    }

    // ---------------------------------------------------------------- requests

    private sealed class GroupState(string epoch, long lastOffset, bool exists)
    {
        public string Epoch { get; } = epoch;
        public long LastOffset { get; set; } = lastOffset;
        public bool Exists { get; set; } = exists;
    }

    private abstract class WriteRequest;

    private sealed class AppendRequest : WriteRequest
    {
        private const int Queued = 0, Taken = 1, Canceled = 2;
        // Continuations run inline: a batch is completed on a pool thread of its own (Completions).
        private readonly TaskCompletionSource<AppendResult> _completion = new();
        private readonly CancellationTokenRegistration _registration;
        private int _state;

        public AppendRequest(NewGroupMessage message, CancellationToken cancellationToken)
        {
            Message = message;
            if (cancellationToken.CanBeCanceled)
            {
                _registration = cancellationToken.UnsafeRegister(static (state, token) => ((AppendRequest)state!).Cancel(token), this);
            }
        }

        public NewGroupMessage Message { get; }

        public Task<AppendResult> Task => _completion.Task;

        /// <summary>
        /// Claims the append for a batch. Cancellation wins only before this: once taken, the
        /// caller waits for the commit, so a canceled append is one that was not stored.
        /// </summary>
        public bool TryTake()
        {
            if (Interlocked.CompareExchange(ref _state, Taken, Queued) != Queued)
            {
                return false;
            }
            _registration.Unregister();
            return true;
        }

        public void Complete(AppendResult result) => _completion.TrySetResult(result);

        public void Fail(Exception exception) => _completion.TrySetException(exception);

        /// <summary>The channel refused it: nobody will ever take it.</summary>
        public void Abandon()
        {
            Interlocked.Exchange(ref _state, Canceled);
            _registration.Unregister();
        }

        private void Cancel(CancellationToken token)
        {
            if (Interlocked.CompareExchange(ref _state, Canceled, Queued) == Queued)
            {
                _completion.TrySetCanceled(token);
            }
        }
    }

    private sealed class TrimRequest(string[] groups, long ageCutoffTicks) : WriteRequest
    {
        private readonly TaskCompletionSource<int> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public string[] Groups { get; } = groups;

        public long AgeCutoffTicks { get; } = ageCutoffTicks;

        public Task<int> Task => _completion.Task;

        public void Complete(int removed) => _completion.TrySetResult(removed);

        public void Fail(Exception exception) => _completion.TrySetException(exception);
    }
}
