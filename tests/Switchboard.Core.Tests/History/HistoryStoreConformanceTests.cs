using Switchboard.Core.History;

namespace Switchboard.Core.Tests.History;

/// <summary>
/// The <see cref="IHistoryStore"/> contract, once. Each implementation inherits this class and
/// supplies a factory and a restart; every test here then runs against it.
/// </summary>
public abstract class HistoryStoreConformanceTests : IAsyncLifetime
{
    protected static readonly DateTimeOffset Start = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    private readonly List<IHistoryStore> _open = [];

    /// <summary>The store's clock: factories must hand it to the stores they create.</summary>
    protected ManualTimeProvider Time { get; } = new(Start);

    /// <summary>Opens a store with <paramref name="options"/> on this test's own data.</summary>
    protected abstract Task<IHistoryStore> CreateStoreAsync(HistoryOptions options);

    /// <summary>
    /// Simulates a process restart: shuts <paramref name="store"/> down and opens a new one on the
    /// same data with <paramref name="options"/>.
    /// </summary>
    protected abstract Task<IHistoryStore> RestartAsync(IHistoryStore store, HistoryOptions options);

    /// <summary>Defaults, except that background retention stays out of the way of the tests.</summary>
    protected static HistoryOptions TestOptions() => new() { TrimInterval = TimeSpan.FromHours(1) };

    protected async Task<IHistoryStore> OpenAsync(HistoryOptions? options = null)
    {
        var store = await CreateStoreAsync(options ?? TestOptions()).DefaultTimeout();
        _open.Add(store);
        return store;
    }

    protected async Task<IHistoryStore> ReopenAsync(IHistoryStore store, HistoryOptions options)
    {
        _open.Remove(store);
        var reopened = await RestartAsync(store, options).DefaultTimeout();
        _open.Add(reopened);
        return reopened;
    }

    protected NewGroupMessage Message(string group, string id, string payload = "hello") =>
        new(id, group, "user-1", "Ada", Time.GetUtcNow().UtcDateTime, payload);

    public Task InitializeAsync() => Task.CompletedTask;

    public virtual async Task DisposeAsync()
    {
        foreach (var store in _open)
        {
            if (store is IAsyncDisposable disposable)
            {
                await disposable.DisposeAsync().DefaultTimeout();
            }
        }
        _open.Clear();
    }

    // ---------------------------------------------------------------- offsets

    [Fact]
    public async Task AppendsGetOffsetsOneToNInOrder()
    {
        var store = await OpenAsync();

        var results = new List<AppendResult>();
        for (var i = 1; i <= 5; i++)
        {
            results.Add(await store.AppendAsync(Message("room", $"m{i}", $"payload {i}")).DefaultTimeout());
        }

        Assert.Equal([1L, 2, 3, 4, 5], results.Select(r => r.Message.Offset));
        Assert.All(results, r => Assert.False(r.Duplicate));
        Assert.Single(results.Select(r => r.Message.Epoch).Distinct());
        var page = await store.ReadAsync("room", 0, 100).DefaultTimeout();
        Assert.Equal(results.Select(r => r.Message), page.Messages);
        Assert.Equal(new StreamPosition(5, results[0].Message.Epoch), page.Top);
    }

    [Fact]
    public async Task StoredMessagesKeepEveryField()
    {
        var store = await OpenAsync();
        var at = new DateTime(2026, 3, 1, 11, 59, 58, 123, DateTimeKind.Utc).AddTicks(4567);
        var anonymous = new NewGroupMessage("anon-1", "room", null, null, at, "héllo 👋 \"quoted\"\n\0end");

        var appended = await store.AppendAsync(anonymous).DefaultTimeout();

        var read = Assert.Single((await store.ReadAsync("room", 0, 10).DefaultTimeout()).Messages);
        Assert.Equal(appended.Message, read);
        Assert.Equal(("anon-1", "room", (string?)null, (string?)null, at, anonymous.Payload),
            (read.Id, read.Group, read.SenderId, read.SenderName, read.Timestamp, read.Payload));
    }

    [Fact]
    public async Task ConcurrentAppendsToOneGroupGetEveryOffsetExactlyOnce()
    {
        var store = await OpenAsync();
        const int count = 300;

        var appends = Enumerable.Range(0, count)
            .Select(i => Task.Run(async () => await store.AppendAsync(Message("busy", $"m{i}"))))
            .ToArray();
        var results = await Task.WhenAll(appends).DefaultTimeout();

        Assert.Equal(Enumerable.Range(1, count).Select(i => (long)i), results.Select(r => r.Message.Offset).Order());
        var page = await store.ReadAsync("busy", 0, count + 10).DefaultTimeout();
        Assert.Equal(Enumerable.Range(1, count).Select(i => (long)i), page.Messages.Select(m => m.Offset));
        // Each caller was told the offset its message really has.
        var stored = page.Messages.ToDictionary(m => m.Id, m => m.Offset);
        Assert.All(results, r => Assert.Equal(stored[r.Message.Id], r.Message.Offset));
        Assert.Equal(count, (await store.GetPositionAsync("busy").DefaultTimeout()).Offset);
    }

    [Fact]
    public async Task GroupsCountOffsetsIndependently()
    {
        var store = await OpenAsync();

        var appends = Enumerable.Range(0, 60)
            .Select(i => Task.Run(async () => await store.AppendAsync(Message(i % 3 == 0 ? "a" : "b", $"m{i}"))))
            .ToArray();
        var results = await Task.WhenAll(appends).DefaultTimeout();

        Assert.Equal(Enumerable.Range(1, 20).Select(i => (long)i),
            results.Where(r => r.Message.Group == "a").Select(r => r.Message.Offset).Order());
        Assert.Equal(Enumerable.Range(1, 40).Select(i => (long)i),
            results.Where(r => r.Message.Group == "b").Select(r => r.Message.Offset).Order());
        Assert.Equal(20, (await store.GetPositionAsync("a").DefaultTimeout()).Offset);
        Assert.Equal(40, (await store.GetPositionAsync("b").DefaultTimeout()).Offset);
        Assert.Equal(0, (await store.GetPositionAsync("c").DefaultTimeout()).Offset);
    }

    // ---------------------------------------------------------------- idempotency

    [Fact]
    public async Task DuplicateIdReturnsTheOriginalAndStoresNothing()
    {
        var store = await OpenAsync();
        var original = await store.AppendAsync(Message("room", "same", "first")).DefaultTimeout();
        Time.Advance(TimeSpan.FromSeconds(10));

        var again = await store.AppendAsync(Message("room", "same", "second")).DefaultTimeout();

        Assert.True(again.Duplicate);
        Assert.Equal(original.Message, again.Message);
        var page = await store.ReadAsync("room", 0, 10).DefaultTimeout();
        Assert.Equal("first", Assert.Single(page.Messages).Payload);
        Assert.Equal(1, page.Top.Offset);
        var next = await store.AppendAsync(Message("room", "other")).DefaultTimeout();
        Assert.Equal(2, next.Message.Offset);
    }

    [Fact]
    public async Task ConcurrentAppendsOfOneIdStoreOneMessage()
    {
        var store = await OpenAsync();

        var appends = Enumerable.Range(0, 20)
            .Select(i => Task.Run(async () => await store.AppendAsync(Message("room", "retry", $"attempt {i}"))))
            .ToArray();
        var results = await Task.WhenAll(appends).DefaultTimeout();

        var stored = Assert.Single(results, r => !r.Duplicate).Message;
        Assert.All(results, r => Assert.Equal(stored, r.Message));
        Assert.Equal(1, (await store.GetPositionAsync("room").DefaultTimeout()).Offset);
    }

    [Fact]
    public async Task SameIdInAnotherGroupIsNotADuplicate()
    {
        var store = await OpenAsync();
        await store.AppendAsync(Message("a", "shared")).DefaultTimeout();

        var other = await store.AppendAsync(Message("b", "shared")).DefaultTimeout();

        Assert.False(other.Duplicate);
        Assert.Equal(("b", 1L), (other.Message.Group, other.Message.Offset));
    }

    [Fact]
    public async Task ReadingAfterTheLargestOffsetIsAnEmptyPage()
    {
        var store = await OpenAsync();
        await store.AppendAsync(Message("room", "m1")).DefaultTimeout();

        var page = await store.ReadAsync("room", long.MaxValue, 10).DefaultTimeout();

        Assert.Empty(page.Messages);
        Assert.Equal(1, page.Top.Offset);
    }

    [Fact]
    public async Task AnIdIsItsSendersOwn()
    {
        var store = await OpenAsync();
        NewGroupMessage From(string? sender, string payload) => Message("room", "build-43", payload) with { SenderId = sender };
        var first = await store.AppendAsync(From("mallory", "red")).DefaultTimeout();

        // Another sender, or none, with the same id: other messages. The same sender again: the original.
        var backend = await store.AppendAsync(From("backend", "green")).DefaultTimeout();
        var anonymous = await store.AppendAsync(From(null, "grey")).DefaultTimeout();
        var again = await store.AppendAsync(From("backend", "green again")).DefaultTimeout();
        var anonymousAgain = await store.AppendAsync(From(null, "grey again")).DefaultTimeout();

        Assert.Equal([false, false, false, true, true], new[] { first, backend, anonymous, again, anonymousAgain }.Select(r => r.Duplicate));
        Assert.Equal((2L, "green"), (again.Message.Offset, again.Message.Payload));
        Assert.Equal((3L, "grey"), (anonymousAgain.Message.Offset, anonymousAgain.Message.Payload));
        Assert.Equal(["red", "green", "grey"], (await store.ReadAsync("room", 0, 10).DefaultTimeout()).Messages.Select(m => m.Payload));
    }

    [Fact]
    public async Task IdAppendedAgainAfterTheWindowIsStoredAgain()
    {
        var options = TestOptions();
        options.IdempotencyWindow = TimeSpan.FromMinutes(1);
        var store = await OpenAsync(options);
        await store.AppendAsync(Message("room", "same", "first")).DefaultTimeout();

        Time.Advance(TimeSpan.FromSeconds(50));
        var inside = await store.AppendAsync(Message("room", "same", "second")).DefaultTimeout();
        Time.Advance(TimeSpan.FromSeconds(11));
        var after = await store.AppendAsync(Message("room", "same", "third")).DefaultTimeout();
        var duplicateOfNewest = await store.AppendAsync(Message("room", "same", "fourth")).DefaultTimeout();

        Assert.True(inside.Duplicate);
        Assert.Equal(1, inside.Message.Offset);
        Assert.False(after.Duplicate);
        Assert.Equal((2L, "third"), (after.Message.Offset, after.Message.Payload));
        Assert.True(duplicateOfNewest.Duplicate);
        Assert.Equal(after.Message, duplicateOfNewest.Message);
    }

    // ---------------------------------------------------------------- reads

    [Fact]
    public async Task ReadReturnsMessagesAfterTheOffsetUpToTheLimit()
    {
        var store = await OpenAsync();
        for (var i = 1; i <= 10; i++)
        {
            await store.AppendAsync(Message("room", $"m{i}")).DefaultTimeout();
        }

        var middle = await store.ReadAsync("room", 3, 4).DefaultTimeout();
        var tail = await store.ReadAsync("room", 7, 10).DefaultTimeout();
        var past = await store.ReadAsync("room", 10, 10).DefaultTimeout();
        var none = await store.ReadAsync("room", 0, 0).DefaultTimeout();

        Assert.Equal([4L, 5, 6, 7], middle.Messages.Select(m => m.Offset));
        Assert.True(middle.HasMore);
        Assert.Equal((10L, 1L), (middle.Top.Offset, middle.FirstRetained));
        Assert.Equal([8L, 9, 10], tail.Messages.Select(m => m.Offset));
        Assert.False(tail.HasMore);
        Assert.Empty(past.Messages);
        Assert.False(past.HasMore);
        Assert.Empty(none.Messages);
        Assert.Equal(10, none.Top.Offset);
    }

    [Fact]
    public async Task EmptyGroupHasOffsetZeroAndTheEpochItsFirstMessageGets()
    {
        var store = await OpenAsync();

        var position = await store.GetPositionAsync("quiet").DefaultTimeout();
        var again = await store.GetPositionAsync("quiet").DefaultTimeout();
        var page = await store.ReadAsync("quiet", 0, 10).DefaultTimeout();

        Assert.Equal(0, position.Offset);
        Assert.False(string.IsNullOrEmpty(position.Epoch));
        Assert.Equal(position, again);
        Assert.Equal(position, page.Top);
        Assert.Equal(1, page.FirstRetained);
        Assert.Empty(page.Messages);
        Assert.False(page.HasMore);

        // A client that subscribed to the empty group remembered (0, epoch) and recovers with it.
        var first = await store.AppendAsync(Message("quiet", "m1")).DefaultTimeout();
        Assert.Equal(new StreamPosition(1, position.Epoch), new StreamPosition(first.Message.Offset, first.Message.Epoch));
        var recovered = await store.ReadAsync("quiet", position.Offset, 10).DefaultTimeout();
        Assert.Equal(position.Epoch, recovered.Top.Epoch);
        Assert.Equal(first.Message, Assert.Single(recovered.Messages));
    }

    // ---------------------------------------------------------------- retention

    [Fact]
    public async Task TrimByCountKeepsTheNewestMessagesOfEachGroup()
    {
        var options = TestOptions();
        options.MaxMessagesPerGroup = 3;
        var store = await OpenAsync(options);
        for (var i = 1; i <= 5; i++)
        {
            await store.AppendAsync(Message("big", $"m{i}")).DefaultTimeout();
        }
        await store.AppendAsync(Message("small", "m1")).DefaultTimeout();

        var removed = await store.TrimAsync().DefaultTimeout();
        var removedAgain = await store.TrimAsync().DefaultTimeout();

        Assert.Equal(2, removed);
        Assert.Equal(0, removedAgain);
        var big = await store.ReadAsync("big", 0, 10).DefaultTimeout();
        Assert.Equal((5L, 3L), (big.Top.Offset, big.FirstRetained));
        Assert.Equal([3L, 4, 5], big.Messages.Select(m => m.Offset));
        var small = await store.ReadAsync("small", 0, 10).DefaultTimeout();
        Assert.Equal((1L, 1L), (small.Top.Offset, small.FirstRetained));
    }

    [Fact]
    public async Task TrimByAgeRemovesOldMessages()
    {
        var options = TestOptions();
        options.MaxAge = TimeSpan.FromHours(1);
        var store = await OpenAsync(options);
        await store.AppendAsync(Message("room", "old-1")).DefaultTimeout();
        await store.AppendAsync(Message("room", "old-2")).DefaultTimeout();
        Time.Advance(TimeSpan.FromMinutes(61));
        await store.AppendAsync(Message("room", "fresh")).DefaultTimeout();

        var removed = await store.TrimAsync().DefaultTimeout();

        Assert.Equal(2, removed);
        var page = await store.ReadAsync("room", 0, 10).DefaultTimeout();
        Assert.Equal((3L, 3L), (page.Top.Offset, page.FirstRetained));
        Assert.Equal("fresh", Assert.Single(page.Messages).Id);
    }

    [Fact]
    public async Task AMaxAgeLongerThanTheCalendarStillTrimsByCount()
    {
        // "Keep by count only": no message is that old, and retention must not fail on the date arithmetic.
        var options = TestOptions();
        options.MaxAge = TimeSpan.MaxValue;
        options.MaxMessagesPerGroup = 2;
        var store = await OpenAsync(options);
        for (var i = 1; i <= 4; i++)
        {
            await store.AppendAsync(Message("room", $"m{i}")).DefaultTimeout();
        }

        var removed = await store.TrimAsync().DefaultTimeout();

        Assert.Equal(2, removed);
        var page = await store.ReadAsync("room", 0, 10).DefaultTimeout();
        Assert.Equal([3L, 4], page.Messages.Select(m => m.Offset));
    }

    [Fact]
    public async Task OffsetsAndEpochContinueAfterEverythingWasTrimmed()
    {
        var options = TestOptions();
        options.MaxAge = TimeSpan.FromHours(1);
        var store = await OpenAsync(options);
        AppendResult last = default;
        for (var i = 1; i <= 3; i++)
        {
            last = await store.AppendAsync(Message("room", $"m{i}")).DefaultTimeout();
        }
        Time.Advance(TimeSpan.FromHours(2));

        Assert.Equal(3, await store.TrimAsync().DefaultTimeout());
        var emptied = await store.ReadAsync("room", 0, 10).DefaultTimeout();
        var next = await store.AppendAsync(Message("room", "m4")).DefaultTimeout();

        Assert.Equal(new StreamPosition(3, last.Message.Epoch), emptied.Top);
        Assert.Equal(4, emptied.FirstRetained);
        Assert.Empty(emptied.Messages);
        Assert.Equal((4L, last.Message.Epoch), (next.Message.Offset, next.Message.Epoch));
        var page = await store.ReadAsync("room", 0, 10).DefaultTimeout();
        Assert.Equal(4, page.FirstRetained);
    }

    // ---------------------------------------------------------------- restarts

    [Fact]
    public async Task RestartKeepsMessagesOffsetsAndEpoch()
    {
        var options = TestOptions();
        var store = await OpenAsync(options);
        var before = new List<GroupMessage>();
        for (var i = 1; i <= 3; i++)
        {
            before.Add((await store.AppendAsync(Message("room", $"m{i}")).DefaultTimeout()).Message);
        }
        var emptyBefore = await store.GetPositionAsync("never").DefaultTimeout();

        store = await ReopenAsync(store, options);

        var page = await store.ReadAsync("room", 0, 10).DefaultTimeout();
        Assert.Equal(before, page.Messages);
        Assert.Equal(new StreamPosition(3, before[0].Epoch), page.Top);
        var next = await store.AppendAsync(Message("room", "m4")).DefaultTimeout();
        Assert.Equal((4L, before[0].Epoch), (next.Message.Offset, next.Message.Epoch));
        Assert.Equal(emptyBefore, await store.GetPositionAsync("never").DefaultTimeout());
    }

    [Fact]
    public async Task IdempotencySurvivesARestart()
    {
        var options = TestOptions();
        var store = await OpenAsync(options);
        var original = await store.AppendAsync(Message("room", "once", "first")).DefaultTimeout();

        store = await ReopenAsync(store, options);
        Time.Advance(TimeSpan.FromMinutes(1));
        var again = await store.AppendAsync(Message("room", "once", "second")).DefaultTimeout();

        Assert.True(again.Duplicate);
        Assert.Equal(original.Message, again.Message);
        Assert.Equal(1, (await store.GetPositionAsync("room").DefaultTimeout()).Offset);
    }

    [Fact]
    public async Task EpochStaysTheSameThroughAppendsTrimsAndRestarts()
    {
        var options = TestOptions();
        options.MaxMessagesPerGroup = 1;
        var store = await OpenAsync(options);
        var epoch = (await store.GetPositionAsync("room").DefaultTimeout()).Epoch;

        var epochs = new List<string>();
        for (var round = 0; round < 3; round++)
        {
            epochs.Add((await store.AppendAsync(Message("room", $"a{round}")).DefaultTimeout()).Message.Epoch);
            epochs.Add((await store.AppendAsync(Message("room", $"b{round}")).DefaultTimeout()).Message.Epoch);
            await store.TrimAsync().DefaultTimeout();
            store = await ReopenAsync(store, options);
            epochs.Add((await store.GetPositionAsync("room").DefaultTimeout()).Epoch);
        }

        Assert.All(epochs, e => Assert.Equal(epoch, e));
        Assert.Equal(new StreamPosition(6, epoch), await store.GetPositionAsync("room").DefaultTimeout());
    }
}
