using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using System.Diagnostics.Metrics;
using Switchboard.Core.Diagnostics;
using Switchboard.Core.History;
using Switchboard.Core.Publishing;

namespace Switchboard.Microbench;

/// <summary>
/// The publish path without the network: <see cref="GroupPublisher"/> checks a message, appends
/// it and hands it to the fan-out in offset order. With history off (numbering in memory) this is
/// the path's own cost; with the SQLite store, 64 concurrent publishes per operation show what
/// batching buys (one transaction commits many).
/// </summary>
[MemoryDiagnoser]
public class PublishPathBenchmarks
{
    private const int Concurrent = 64;
    private readonly string _payload = new('x', 100);
    private GroupPublisher _publisher = null!;
    private IHistoryStore _store = null!;
    private ServiceProvider _services = null!;
    private string? _data;
    private string[] _groups = [];

    [Params("off", "ProcessCrash", "PowerLoss")]
    public string History { get; set; } = "off";

    [GlobalSetup]
    public void Setup()
    {
        _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var metrics = new SwitchboardMetrics(_services.GetRequiredService<IMeterFactory>());
        if (History == "off")
        {
            _store = new DisabledHistoryStore();
        }
        else
        {
            _data = Directory.CreateTempSubdirectory("switchboard-microbench-").FullName;
            _store = new SqliteHistoryStore(Options.Create(new HistoryOptions
            {
                DataFolder = _data,
                Durability = Enum.Parse<HistoryDurability>(History),
            }), TimeProvider.System, NullLogger<SqliteHistoryStore>.Instance);
        }
        _publisher = new GroupPublisher(_store, new NullFanout(), TimeProvider.System, metrics);
        _groups = Enumerable.Range(0, 1000).Select(i => $"g{i}").ToArray();
    }

    [GlobalCleanup]
    public async Task Cleanup()
    {
        if (_store is IAsyncDisposable disposable) await disposable.DisposeAsync();
        await _services.DisposeAsync();
        if (_data is not null) Directory.Delete(_data, recursive: true);
    }

    /// <summary>One publish to one group, awaited: the latency of the path (and of one commit with history on).</summary>
    [Benchmark]
    public Task OnePublish() => _publisher.PublishAsync("bench", null, "alice", "Alice", _payload, 16384);

    /// <summary>64 publishes to 64 different groups at once; per publish.</summary>
    [Benchmark(OperationsPerInvoke = Concurrent)]
    public Task ConcurrentPublishes()
    {
        var tasks = new Task[Concurrent];
        var start = Random.Shared.Next(_groups.Length);
        for (var i = 0; i < Concurrent; i++)
        {
            tasks[i] = _publisher.PublishAsync(_groups[(start + i) % _groups.Length], null, "alice", "Alice", _payload, 16384);
        }
        return Task.WhenAll(tasks);
    }

    private sealed class NullFanout : IGroupFanout
    {
        public Task Deliver(IReadOnlyList<GroupMessage> messages) => Task.CompletedTask;
    }
}
