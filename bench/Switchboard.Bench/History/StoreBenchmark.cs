using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Switchboard.Core.History;

namespace Switchboard.Bench.History;

/// <summary>The SQLite store alone, in process: how many appends per second it commits for a number of concurrent appenders.</summary>
internal static class StoreBenchmark
{
    public static async Task<int> RunAsync(int appenders, TimeSpan duration)
    {
        foreach (var durability in new[] { HistoryDurability.ProcessCrash, HistoryDurability.PowerLoss })
        {
            var data = Directory.CreateTempSubdirectory("switchboard-store-bench-").FullName;
            try
            {
                await using var store = new SqliteHistoryStore(Options.Create(new HistoryOptions { DataFolder = data, Durability = durability }),
                    TimeProvider.System, NullLogger<SqliteHistoryStore>.Instance);
                var count = 0L;
                var clock = Stopwatch.StartNew();
                await Task.WhenAll(Enumerable.Range(0, appenders).Select(a => Task.Run(async () =>
                {
                    var i = 0;
                    while (clock.Elapsed < duration)
                    {
                        await store.AppendAsync(new NewGroupMessage($"{a}-{i++}", "bench", "u", "U", DateTime.UtcNow, new string('x', 100), Idempotent: false));
                        Interlocked.Increment(ref count);
                    }
                })));
                Console.WriteLine($"{durability,-12} {appenders} appenders: {count / clock.Elapsed.TotalSeconds,10:N0} appends/s, {store.TransactionsCommitted:N0} transactions");
            }
            finally
            {
                Directory.Delete(data, recursive: true);
            }
        }
        return 0;
    }
}
