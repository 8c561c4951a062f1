using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using System.Diagnostics.Metrics;
using Switchboard.Core.Diagnostics;
using Switchboard.Core.History;
using Xunit.Abstractions;

namespace Switchboard.Core.Tests.History;

/// <summary>The conformance suite against a real SQLite file in a fresh temp folder per test, plus what only SQLite has.</summary>
public sealed class SqliteHistoryStoreTests(ITestOutputHelper output) : HistoryStoreConformanceTests
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "switchboard-history-tests", Guid.NewGuid().ToString("N"));

    private ListLogger<SqliteHistoryStore> Logger { get; } = new();

    protected override Task<IHistoryStore> CreateStoreAsync(HistoryOptions options)
    {
        options.DataFolder = _folder;
        return Task.FromResult<IHistoryStore>(new SqliteHistoryStore(Options.Create(options), Time, Logger));
    }

    protected override async Task<IHistoryStore> RestartAsync(IHistoryStore store, HistoryOptions options)
    {
        await ((SqliteHistoryStore)store).DisposeAsync();
        return await CreateStoreAsync(options);
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }

    private async Task<SqliteHistoryStore> OpenSqliteAsync(HistoryOptions? options = null) =>
        (SqliteHistoryStore)await OpenAsync(options);

    /// <summary>A connection of "another process" to the store's file.</summary>
    private static SqliteConnection SideConnection(SqliteHistoryStore store)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = store.DatabasePath, Pooling = false }.ToString());
        connection.Open();
        return connection;
    }

    private static object? Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    [Theory]
    // A run that never stopped cleanly, in an earlier boot of the machine, without an fsync per commit: renewed.
    [InlineData(HistoryDurability.ProcessCrash, false, false, true)]
    // The same run stopped cleanly, or only its process crashed (same boot), or it synced every commit: kept.
    [InlineData(HistoryDurability.ProcessCrash, true, false, false)]
    [InlineData(HistoryDurability.ProcessCrash, false, true, false)]
    [InlineData(HistoryDurability.PowerLoss, false, false, false)]
    public async Task EpochsAreRenewedOnlyWhenTheMachineStoppedUnderARunThatMayHaveLostAcknowledgedMessages(
        HistoryDurability durability, bool stoppedCleanly, bool sameBoot, bool renewed)
    {
        var options = new HistoryOptions { DataFolder = _folder, Durability = durability, TrimInterval = TimeSpan.FromHours(1) };
        var before = new SqliteHistoryStore(Options.Create(options), Time, Logger, null, bootId: "boot-1");
        GroupMessage last = null!;
        for (var i = 1; i <= 3; i++) last = (await before.AppendAsync(Message("room", $"m{i}")).AsTask().DefaultTimeout()).Message;
        var unused = await before.GetPositionAsync("quiet").AsTask().DefaultTimeout();
        if (stoppedCleanly) await before.DisposeAsync(); // otherwise it is left open, as a dead process leaves its file

        await using var after = new SqliteHistoryStore(Options.Create(options), Time, Logger, null, bootId: sameBoot ? "boot-1" : "boot-2");
        var room = await after.GetPositionAsync("room").AsTask().DefaultTimeout();
        var quiet = await after.GetPositionAsync("quiet").AsTask().DefaultTimeout();
        var next = (await after.AppendAsync(Message("room", "m4")).AsTask().DefaultTimeout()).Message;

        Assert.Equal(3, room.Offset);
        Assert.Equal(4, next.Offset);
        Assert.Equal(room.Epoch, next.Epoch);
        Assert.Equal(renewed, room.Epoch != last.Epoch);
        Assert.Equal(renewed, quiet.Epoch != unused.Epoch); // groups without messages too
        Assert.Equal(renewed, Logger.Entries.Any(e => e.EventId.Id == 2007));
        Assert.Equal(3, (await after.ReadAsync("room", 0, 10).AsTask().DefaultTimeout()).Messages.Count(m => m.Offset <= 3)); // nothing is deleted
        if (!stoppedCleanly) await before.DisposeAsync();
    }

    [Fact]
    public async Task TwoProcessesStartingTogetherAfterAPowerCutAgreeOnTheRenewedEpochs()
    {
        // A ProcessCrash run of the last boot never stopped; after the reboot two stores open the
        // file at once, and the other one renews the instance id between this one's reading the
        // schema and recording its run.
        var options = new HistoryOptions { DataFolder = _folder, Durability = HistoryDurability.ProcessCrash, TrimInterval = TimeSpan.FromHours(1) };
        var crashed = new SqliteHistoryStore(Options.Create(options), Time, Logger, null, bootId: "boot-1");
        var before = (await crashed.AppendAsync(Message("room", "m1")).AsTask().DefaultTimeout()).Message;
        var fresh = await crashed.GetPositionAsync("fresh").AsTask().DefaultTimeout();

        SqliteHistoryStore? other = null;
        await using var late = new SqliteHistoryStore(Options.Create(options), Time, Logger, null, bootId: "boot-2",
            beforeRun: () => other = new SqliteHistoryStore(Options.Create(options), Time, Logger, null, bootId: "boot-2"));
        await using var first = other!;

        var renewed = await first.GetPositionAsync("fresh").AsTask().DefaultTimeout();
        Assert.NotEqual(fresh.Epoch, renewed.Epoch); // the other store renewed the epochs
        // A group with no message yet gets the same, renewed epoch from both (it got the old one from the late store).
        Assert.Equal(renewed.Epoch, (await late.GetPositionAsync("fresh").AsTask().DefaultTimeout()).Epoch);
        var appended = (await late.AppendAsync(Message("fresh", "f1")).AsTask().DefaultTimeout()).Message;
        Assert.Equal(renewed.Epoch, appended.Epoch);
        Assert.NotEqual(before.Epoch, (await late.GetPositionAsync("room").AsTask().DefaultTimeout()).Epoch);
        await crashed.DisposeAsync();
    }

    [Fact]
    public async Task ACleanStopRemovesTheRecordOfItsRun()
    {
        var options = new HistoryOptions { DataFolder = _folder, Durability = HistoryDurability.ProcessCrash, TrimInterval = TimeSpan.FromHours(1) };
        var first = new SqliteHistoryStore(Options.Create(options), Time, Logger, null, bootId: "boot-1");
        await first.AppendAsync(Message("room", "m1")).AsTask().DefaultTimeout();
        using var side = SideConnection(first);
        Assert.Equal(1L, Execute(side, "SELECT count(*) FROM history_meta WHERE key LIKE 'run:%';"));
        await first.DisposeAsync();
        Assert.Equal(0L, Execute(side, "SELECT count(*) FROM history_meta WHERE key LIKE 'run:%';"));
    }

    [Fact]
    public async Task CreatesItsFolderAndAWalDatabaseFile()
    {
        Assert.False(Directory.Exists(_folder));

        var store = await OpenSqliteAsync();

        Assert.Equal(Path.Combine(_folder, "switchboard.db"), store.DatabasePath);
        Assert.True(File.Exists(store.DatabasePath));
        using var side = SideConnection(store);
        Assert.Equal("wal", Execute(side, "PRAGMA journal_mode;"));
        // The opening line says what an acknowledged message survives (it said synchronous=FULL whatever the setting).
        Assert.Contains(Logger.Entries, e => e.EventId.Id == 2001 && e.Message.EndsWith("(WAL journal, durability PowerLoss).", StringComparison.Ordinal));
    }

    [Fact]
    public async Task TheOpeningLogLineNamesTheDurabilityInForce()
    {
        var options = TestOptions();
        options.Durability = HistoryDurability.ProcessCrash;
        await OpenSqliteAsync(options);

        var opened = Assert.Single(Logger.Entries, e => e.EventId.Id == 2001);
        Assert.EndsWith("(WAL journal, durability ProcessCrash).", opened.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ABurstOfAThousandAppendsCommitsInFewTransactions()
    {
        var store = await OpenSqliteAsync();

        var appends = Enumerable.Range(0, 1000)
            .Select(i => Task.Run(async () => await store.AppendAsync(Message("burst", $"m{i}"))))
            .ToArray();
        var results = await Task.WhenAll(appends).DefaultTimeout();

        output.WriteLine($"1000 appends committed in {store.TransactionsCommitted} transactions.");
        Assert.Equal(Enumerable.Range(1, 1000).Select(i => (long)i), results.Select(r => r.Message.Offset).Order());
        Assert.InRange(store.TransactionsCommitted, 1, 99);
    }

    [Fact]
    public async Task MaxBatchSizeBoundsEachTransaction()
    {
        var options = TestOptions();
        options.MaxBatchSize = 8;
        var store = await OpenSqliteAsync(options);

        var appends = Enumerable.Range(0, 200).Select(i => store.AppendAsync(Message("room", $"m{i}")).AsTask()).ToArray();
        var results = await Task.WhenAll(appends).DefaultTimeout();

        Assert.Equal(Enumerable.Range(1, 200).Select(i => (long)i), results.Select(r => r.Message.Offset).Order());
        Assert.True(store.TransactionsCommitted >= 200 / 8, $"{store.TransactionsCommitted} transactions for 200 appends in batches of at most 8.");
    }

    [Fact]
    public async Task EachCommittedBatchIsMeasuredWithItsSize()
    {
        using var services = new ServiceCollection().AddMetrics().AddSingleton<SwitchboardMetrics>().BuildServiceProvider();
        using var batches = new Recorded<int>("switchboard.history.batch.size", services.GetRequiredService<IMeterFactory>());
        var options = TestOptions();
        options.DataFolder = _folder;
        options.MaxBatchSize = 8;
        await using var store = new SqliteHistoryStore(Options.Create(options), Time, Logger, services.GetRequiredService<SwitchboardMetrics>());

        var appends = Enumerable.Range(0, 200).Select(i => store.AppendAsync(Message("room", $"m{i}")).AsTask()).ToArray();
        await Task.WhenAll(appends).DefaultTimeout();

        Assert.Equal(200, batches.Values.Sum());
        Assert.All(batches.Values, size => Assert.InRange(size, 1, 8));
        Assert.Equal(store.TransactionsCommitted, batches.Values.Count);
    }

    [Fact]
    public async Task AFailedCommitFailsItsCallersStoresNothingOfThemAndLeavesNoGap()
    {
        // Batches of at most 4 and a poison every 8th append: some batches fail, some commit.
        var options = TestOptions();
        options.MaxBatchSize = 4;
        var store = await OpenSqliteAsync(options);
        Assert.Equal(1, (await store.AppendAsync(Message("room", "before")).DefaultTimeout()).Message.Offset);
        using (var side = SideConnection(store))
        {
            Execute(side, """
                CREATE TRIGGER inject_failure BEFORE INSERT ON history_messages
                WHEN NEW.payload LIKE 'poison%' BEGIN SELECT RAISE(ABORT, 'injected failure'); END;
                """);
        }

        await Assert.ThrowsAsync<SqliteException>(() => store.AppendAsync(Message("room", "bad", "poison: top secret")).DefaultTimeout());
        var after = await store.AppendAsync(Message("room", "after")).DefaultTimeout();
        Assert.Equal(2, after.Message.Offset);

        // A burst with poison mixed in: whole batches fail, the writer carries on, offsets stay dense.
        var appends = Enumerable.Range(0, 40)
            .Select(i => store.AppendAsync(Message("room", $"m{i}", i % 8 == 0 ? "poison: top secret" : "fine")).AsTask())
            .ToArray();
        await Task.WhenAny(Task.WhenAll(appends)).DefaultTimeout();
        var succeeded = appends.Where(t => t.IsCompletedSuccessfully).Select(t => t.Result.Message).ToList();
        var failed = appends.Where(t => t.IsFaulted).ToList();
        output.WriteLine($"{failed.Count} of 40 appends failed with their batches.");
        Assert.Equal(40, succeeded.Count + failed.Count);
        Assert.NotEmpty(succeeded);
        Assert.True(failed.Count >= 5, "every poisoned append fails");
        Assert.All(failed, t => Assert.IsType<SqliteException>(t.Exception!.InnerException));

        var page = await store.ReadAsync("room", 0, 100).DefaultTimeout();
        var expectedTop = 2 + succeeded.Count;
        Assert.Equal(Enumerable.Range(1, expectedTop).Select(i => (long)i), page.Messages.Select(m => m.Offset));
        Assert.Equal(expectedTop, page.Top.Offset);
        Assert.Equal(succeeded.OrderBy(m => m.Offset), page.Messages.Skip(2));
        Assert.Contains(Logger.Entries, e => e.EventId.Id == 2003);
        Assert.DoesNotContain(Logger.Entries, e => e.ToString().Contains("top secret", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ReadsAreServedWhileTheWriterWaitsForALock()
    {
        var store = await OpenSqliteAsync();
        var first = await store.AppendAsync(Message("room", "m1")).DefaultTimeout();
        using var side = SideConnection(store);
        Execute(side, "BEGIN IMMEDIATE;");

        var blocked = store.AppendAsync(Message("room", "m2")).AsTask();
        var page = await store.ReadAsync("room", 0, 10).DefaultTimeout();
        var position = await store.GetPositionAsync("room").DefaultTimeout();

        Assert.Equal(first.Message, Assert.Single(page.Messages));
        Assert.Equal(1, position.Offset);
        Assert.False(blocked.IsCompleted);
        Execute(side, "COMMIT;");
        Assert.Equal(2, (await blocked.DefaultTimeout()).Message.Offset);
    }

    [Fact]
    public async Task TwoStoresOnOneFileNeverShareAnOffset()
    {
        var one = await OpenSqliteAsync();
        var two = await OpenSqliteAsync();

        var appends = Enumerable.Range(0, 200)
            .Select(i => Task.Run(async () => await (i % 2 == 0 ? one : two).AppendAsync(Message("room", $"m{i}"))))
            .ToArray();
        var results = await Task.WhenAll(appends).DefaultTimeout();

        Assert.Equal(Enumerable.Range(1, 200).Select(i => (long)i), results.Select(r => r.Message.Offset).Order());
        Assert.Single(results.Select(r => r.Message.Epoch).Distinct());
        Assert.True(one.TransactionsCommitted > 0 && two.TransactionsCommitted > 0);
    }

    [Fact]
    public async Task DeletingTheDatabaseStartsANewHistoryWithANewEpoch()
    {
        var options = TestOptions();
        var store = await OpenSqliteAsync(options);
        var old = (await store.AppendAsync(Message("room", "m1")).DefaultTimeout()).Message;
        var oldEmpty = await store.GetPositionAsync("quiet").DefaultTimeout();
        await store.DisposeAsync().DefaultTimeout();
        foreach (var file in Directory.GetFiles(_folder))
        {
            File.Delete(file); // the database with its -wal and -shm companions
        }

        var fresh = await OpenSqliteAsync(options);

        var position = await fresh.GetPositionAsync("room").DefaultTimeout();
        Assert.Equal(0, position.Offset);
        Assert.NotEqual(old.Epoch, position.Epoch);
        var next = (await fresh.AppendAsync(Message("room", "m1")).DefaultTimeout()).Message;
        Assert.Equal((1L, position.Epoch), (next.Offset, next.Epoch));
        Assert.NotEqual(oldEmpty.Epoch, (await fresh.GetPositionAsync("quiet").DefaultTimeout()).Epoch);
    }

    [Fact]
    public async Task RetentionRunsInTheBackgroundEveryTrimInterval()
    {
        var options = TestOptions();
        options.TrimInterval = TimeSpan.FromMilliseconds(50);
        options.MaxMessagesPerGroup = 2;
        var store = await OpenSqliteAsync(options);
        for (var i = 1; i <= 5; i++)
        {
            await store.AppendAsync(Message("room", $"m{i}")).DefaultTimeout();
        }

        await TestTimeouts.Eventually(async () => (await store.ReadAsync("room", 0, 10)).FirstRetained == 4, "retention trimmed the group to 2 messages");

        Assert.Equal(5, (await store.GetPositionAsync("room").DefaultTimeout()).Offset);
    }

    [Fact]
    public async Task DisposeCommitsAcceptedAppendsAndRefusesLaterOnes()
    {
        var options = TestOptions();
        var store = await OpenSqliteAsync(options);
        var accepted = Enumerable.Range(0, 100).Select(i => store.AppendAsync(Message("room", $"m{i}")).AsTask()).ToArray();

        await store.DisposeAsync().DefaultTimeout();

        Assert.All(accepted, t => Assert.True(t.IsCompletedSuccessfully));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => store.AppendAsync(Message("room", "late")).DefaultTimeout());
        await Assert.ThrowsAsync<ObjectDisposedException>(() => store.ReadAsync("room", 0, 10).DefaultTimeout());
        var reopened = await OpenSqliteAsync(options);
        Assert.Equal(100, (await reopened.GetPositionAsync("room").DefaultTimeout()).Offset);
    }

    [Fact]
    public async Task AnAppendCanceledBeforeItsBatchIsNotStored()
    {
        var store = await OpenSqliteAsync();
        using var canceled = new CancellationTokenSource();
        canceled.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => store.AppendAsync(Message("room", "m1"), canceled.Token).DefaultTimeout());

        Assert.Equal(0, (await store.GetPositionAsync("room").DefaultTimeout()).Offset);
    }

    [Fact]
    public async Task AnAppendCanceledWhileQueuedReturnsAtOnceAndIsNotStored()
    {
        // Batches of one, and a lock held elsewhere: the writer is stuck on the first append while
        // the second waits in the queue.
        var options = TestOptions();
        options.MaxBatchSize = 1;
        var store = await OpenSqliteAsync(options);
        await store.AppendAsync(Message("room", "m1")).DefaultTimeout();
        using var side = SideConnection(store);
        Execute(side, "BEGIN IMMEDIATE;");
        var stuck = store.AppendAsync(Message("room", "m2")).AsTask();
        using var cancel = new CancellationTokenSource();
        var queued = store.AppendAsync(Message("room", "m3"), cancel.Token).AsTask();

        cancel.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => queued.DefaultTimeout());
        Assert.False(stuck.IsCompleted);
        Execute(side, "COMMIT;");
        Assert.Equal(2, (await stuck.DefaultTimeout()).Message.Offset);
        Assert.Equal(3, (await store.AppendAsync(Message("room", "m4")).DefaultTimeout()).Message.Offset);
        var page = await store.ReadAsync("room", 0, 10).DefaultTimeout();
        Assert.Equal(["m1", "m2", "m4"], page.Messages.Select(m => m.Id));
    }

    [Fact]
    public void InvalidOptionsAreRejectedNamingTheSetting()
    {
        var options = TestOptions();
        options.DataFolder = _folder;
        options.MaxBatchSize = 0;

        var error = Assert.Throws<OptionsValidationException>(() => new SqliteHistoryStore(Options.Create(options), Time, Logger));

        Assert.Contains("Switchboard:History:MaxBatchSize", error.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(_folder));
    }

    [Fact]
    public async Task AddSqliteHistoryBindsItsSectionAndRegistersOneStore()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            [$"{HistoryOptions.Section}:DataFolder"] = _folder,
            [$"{HistoryOptions.Section}:FileName"] = "from-config.db",
        }).Build();
        var services = new ServiceCollection()
            .AddSingleton<IConfiguration>(configuration)
            .AddLogging()
            .AddSqliteHistory();

        var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });
        try
        {
            var store = Assert.IsType<SqliteHistoryStore>(provider.GetRequiredService<IHistoryStore>());
            Assert.Same(store, provider.GetRequiredService<IHistoryStore>());
            Assert.Equal(1, (await store.AppendAsync(Message("room", "m1")).DefaultTimeout()).Message.Offset);
            Assert.Equal(Path.Combine(_folder, "from-config.db"), store.DatabasePath);
        }
        finally
        {
            await provider.DisposeAsync().DefaultTimeout(); // the container disposes the store
        }
    }
    // ---------------------------------------------------------------- schema 2

    [Fact]
    public async Task AVersionOneFileIsUpgradedInPlaceKeepingOffsetsEpochsAndIdempotency()
    {
        // A file as version 1 wrote it: every message's id indexed, last_offset kept in the row.
        Directory.CreateDirectory(_folder);
        var path = Path.Combine(_folder, new HistoryOptions().FileName);
        var stamp = Time.GetUtcNow().UtcDateTime.Ticks;
        using (var v1 = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString()))
        {
            v1.Open();
            Execute(v1, $"""
                PRAGMA journal_mode = WAL;
                CREATE TABLE history_meta (key TEXT NOT NULL PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
                CREATE TABLE history_groups (name TEXT NOT NULL PRIMARY KEY, epoch TEXT NOT NULL, last_offset INTEGER NOT NULL, created_at INTEGER NOT NULL) WITHOUT ROWID;
                CREATE TABLE history_messages (group_name TEXT NOT NULL, message_offset INTEGER NOT NULL, id TEXT NOT NULL, sender_id TEXT,
                    sender_name TEXT, timestamp INTEGER NOT NULL, payload TEXT NOT NULL, PRIMARY KEY (group_name, message_offset));
                CREATE INDEX history_messages_by_id ON history_messages (group_name, id, message_offset);
                INSERT INTO history_meta VALUES ('instance', 'v1instance');
                INSERT INTO history_groups VALUES ('room', 'v1epoch', 3, {stamp});
                INSERT INTO history_messages VALUES ('room', 1, 'a', 'user-1', 'Ada', {stamp}, 'one');
                INSERT INTO history_messages VALUES ('room', 2, 'client-1', 'user-1', 'Ada', {stamp}, 'two');
                INSERT INTO history_messages VALUES ('room', 3, 'c', 'user-1', 'Ada', {stamp}, 'three');
                PRAGMA user_version = 1;
                """);
        }

        var store = await OpenSqliteAsync();
        var repeat = await store.AppendAsync(Message("room", "client-1", "again")).DefaultTimeout();
        var next = await store.AppendAsync(Message("room", "d", "four")).DefaultTimeout();

        Assert.True(repeat.Duplicate);
        Assert.Equal((2L, "v1epoch", "two"), (repeat.Message.Offset, repeat.Message.Epoch, repeat.Message.Payload));
        Assert.Equal((4L, "v1epoch"), (next.Message.Offset, next.Message.Epoch));
        Assert.Equal(["one", "two", "three", "four"], (await store.ReadAsync("room", 0, 10).DefaultTimeout()).Messages.Select(m => m.Payload));
        using var side = SideConnection(store);
        Assert.Equal(2L, Execute(side, "PRAGMA user_version;"));
        Assert.Equal(0L, Execute(side, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'history_messages_by_id';"));
    }

    [Fact]
    public async Task OnlyClientChosenIdsAreKeptForLookupAndAGroupRowIsWrittenOnce()
    {
        var store = await OpenSqliteAsync();
        await store.AppendAsync(Message("room", "client-chosen")).DefaultTimeout();
        for (var i = 0; i < 3; i++)
        {
            await store.AppendAsync(Message("room", $"server-{i}") with { Idempotent = false }).DefaultTimeout();
        }

        using var side = SideConnection(store);
        Assert.Equal("client-chosen", Execute(side, "SELECT group_concat(id) FROM history_ids;"));
        // Written when the group was created; its top comes from the newest message.
        Assert.Equal(0L, Execute(side, "SELECT last_offset FROM history_groups WHERE name = 'room';"));
        Assert.Equal(4, (await store.GetPositionAsync("room").DefaultTimeout()).Offset);
        // A server-chosen id is not looked up: the same id again is a new message.
        var again = await store.AppendAsync(Message("room", "server-0") with { Idempotent = false }).DefaultTimeout();
        Assert.Equal((false, 5L), (again.Duplicate, again.Message.Offset));
    }

    [Fact]
    public async Task RetentionHandsTheWriterOnlyTheGroupsWithSomethingToRemove()
    {
        var options = TestOptions();
        options.MaxAge = TimeSpan.FromHours(1);
        options.MaxMessagesPerGroup = 3;
        var store = await OpenSqliteAsync(options);
        await store.AppendAsync(Message("stale", "s1")).DefaultTimeout();
        Time.Advance(TimeSpan.FromMinutes(61));
        await store.AppendAsync(Message("stale", "s2")).DefaultTimeout();
        for (var i = 1; i <= 3; i++)
        {
            await store.AppendAsync(Message("full", $"f{i}")).DefaultTimeout(); // exactly the count: nothing to remove
        }
        for (var i = 1; i <= 5; i++)
        {
            await store.AppendAsync(Message("busy", $"b{i}")).DefaultTimeout();
        }
        await store.AppendAsync(Message("quiet", "q1")).DefaultTimeout();

        var candidates = ((SqliteHistoryStore)store).TrimCandidates();
        Assert.Equal(["busy", "stale"], candidates.Order());

        Assert.Equal(3, await store.TrimAsync().DefaultTimeout()); // s1, b1 and b2
        Assert.Empty(((SqliteHistoryStore)store).TrimCandidates());
        Assert.Equal([3L, 4, 5], (await store.ReadAsync("busy", 0, 10).DefaultTimeout()).Messages.Select(m => m.Offset));
        Assert.Equal(3, (await store.ReadAsync("full", 0, 10).DefaultTimeout()).Messages.Count);
        Assert.Equal("s2", Assert.Single((await store.ReadAsync("stale", 0, 10).DefaultTimeout()).Messages).Id);
    }

    [Fact]
    public async Task OffsetsContinueAfterRetentionRemovedEveryMessageAndARestart()
    {
        var options = TestOptions();
        options.MaxAge = TimeSpan.FromHours(1);
        var store = await OpenSqliteAsync(options);
        for (var i = 1; i <= 3; i++)
        {
            await store.AppendAsync(Message("room", $"m{i}")).DefaultTimeout();
        }
        Time.Advance(TimeSpan.FromHours(2));
        Assert.Equal(3, await store.TrimAsync().DefaultTimeout());

        var reopened = await ReopenAsync(store, options);
        var position = await reopened.GetPositionAsync("room").DefaultTimeout();
        var next = await reopened.AppendAsync(Message("room", "m4")).DefaultTimeout();
        // A client id whose message retention removed is stored again, and its lookup went with it.
        var m1 = await reopened.AppendAsync(Message("room", "m1")).DefaultTimeout();

        Assert.Equal(3, position.Offset);
        Assert.Equal(4, next.Message.Offset);
        Assert.Equal((false, 5L), (m1.Duplicate, m1.Message.Offset));
        using var side = SideConnection((SqliteHistoryStore)reopened);
        Assert.Equal("m4,m1", Execute(side, "SELECT group_concat(id) FROM (SELECT id FROM history_ids ORDER BY message_offset);"));
    }
}
