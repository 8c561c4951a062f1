using System.CommandLine;
using Switchboard.Bench;
using Switchboard.Bench.Clients;
using Switchboard.Bench.History;
using Switchboard.Bench.Peers;
using Switchboard.Bench.Report;
using Switchboard.Bench.Scenarios;
using Switchboard.Bench.Soak;

// Switchboard's benchmark tool. Build first (bench/run.sh builds everything and runs `compare`):
//   dotnet bench/Switchboard.Bench/bin/Release/net10.0/Switchboard.Bench.dll compare [options]
//   ... history [runs] [publishers] [seconds] [catch-up] [durability]
//   ... store [appenders] [seconds]
//   ... report <results.json>
//   ... soak [--connections 5000] [--minutes 10] [--churn 20] [--rate 200] [--no-docs]
GeneratorSockets.PreferInlineCompletions(); // before any socket exists
var root = new RootCommand("Switchboard's benchmark tool: the side-by-side comparison (compare), the durable-history benchmarks (history, store).");
root.Subcommands.Add(CompareCommand.Create());
root.Subcommands.Add(HistoryCommand());
root.Subcommands.Add(StoreCommand());
root.Subcommands.Add(ReportCommand());
root.Subcommands.Add(SoakCommand());
return await root.Parse(args).InvokeAsync();

static Command HistoryCommand()
{
    var runs = new Argument<int>("runs") { Description = "Runs of each measurement.", DefaultValueFactory = _ => 3 };
    var publishers = new Argument<string>("publishers")
    {
        Description = "Connections publishing back to back, one series per count (comma-separated): few measure the acknowledgement's latency, many the servers' throughput.",
        DefaultValueFactory = _ => "64,256,512",
    };
    var seconds = new Argument<int>("seconds") { Description = "Seconds measured per run.", DefaultValueFactory = _ => 5 };
    var catchUp = new Argument<int>("catch-up") { Description = "Missed messages to catch up on.", DefaultValueFactory = _ => 10_000 };
    var durability = new Argument<string>("durability") { Description = "PowerLoss or ProcessCrash.", DefaultValueFactory = _ => "PowerLoss" };
    durability.AcceptOnlyFromAmong("PowerLoss", "ProcessCrash");
    var command = new Command("history", "Publish rate with durable history on and off, and catching up on missed messages (issue 3).")
    {
        runs, publishers, seconds, catchUp, durability,
    };
    command.SetAction((parse, _) => HistoryBenchmark.RunAsync(parse.GetValue(runs),
        [.. parse.GetValue(publishers)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(int.Parse)], TimeSpan.FromSeconds(parse.GetValue(seconds)),
        parse.GetValue(catchUp), parse.GetValue(durability)!));
    return command;
}

static Command StoreCommand()
{
    var appenders = new Argument<int>("appenders") { Description = "Concurrent appenders.", DefaultValueFactory = _ => 64 };
    var seconds = new Argument<int>("seconds") { Description = "Seconds per durability mode.", DefaultValueFactory = _ => 3 };
    var command = new Command("store", "The SQLite history store alone, in process: appends per second.") { appenders, seconds };
    command.SetAction((parse, _) => StoreBenchmark.RunAsync(parse.GetValue(appenders), TimeSpan.FromSeconds(parse.GetValue(seconds))));
    return command;
}

static Command ReportCommand()
{
    var file = new Argument<FileInfo>("results") { Description = "A comparison's raw JSON (docs/benchmarks/compare-*.json)." };
    var output = new Option<DirectoryInfo>("--output") { Description = "The docs folder to write benchmarks.md and benchmarks/ into.", DefaultValueFactory = _ => new DirectoryInfo(Path.Combine(Repository.Root, "docs")) };
    var command = new Command("report", "Writes docs/benchmarks.md and the plots again from a comparison's raw JSON.") { file, output };
    command.SetAction(async (parse, _) =>
    {
        var report = await MarkdownReport.ReadAsync(parse.GetValue(file)!.FullName);
        await MarkdownReport.WriteAsync(report, parse.GetValue(output)!.FullName, parse.GetValue(file)!.FullName);
        return 0;
    });
    return command;
}

static Command SoakCommand()
{
    var connections = new Option<int>("--connections") { Description = "Connections held (default 5,000).", DefaultValueFactory = _ => 5_000 };
    var minutes = new Option<double>("--minutes") { Description = "Minutes measured after a 60 s warm-up (default 10).", DefaultValueFactory = _ => 10 };
    var churn = new Option<int>("--churn") { Description = "Connections closed and opened again each second (default 20).", DefaultValueFactory = _ => 20 };
    var rate = new Option<int>("--rate") { Description = "Private messages published per second (default 200).", DefaultValueFactory = _ => 200 };
    var every = new Option<int>("--sample-every") { Description = "Seconds between memory readings (default 60).", DefaultValueFactory = _ => 60 };
    var noDocs = new Option<bool>("--no-docs") { Description = "Print only; do not write docs/benchmarks.md and docs/benchmarks/soak-*.json." };
    var command = new Command("soak", "Connections held for minutes under churn and steady publishing, memory read after full collections (issue 7).")
    {
        connections, minutes, churn, rate, every, noDocs,
    };
    command.Validators.Add(r =>
    {
        if (r.GetValue(connections) is < 1 or > 50_000) r.AddError("--connections: between 1 and 50,000");
        if (r.GetValue(minutes) is <= 0 or > 120) r.AddError("--minutes: more than 0 and at most 120");
        if (r.GetValue(rate) is < 1 or > 100_000) r.AddError("--rate: between 1 and 100,000");
        if (r.GetValue(churn) is < 0 or > 1_000) r.AddError("--churn: between 0 and 1,000");
        if (r.GetValue(every) is < 5 or > 3_600) r.AddError("--sample-every: between 5 and 3,600 seconds");
    });
    command.SetAction((parse, _) => SoakBenchmark.RunAsync(
        new SoakSettings(parse.GetValue(connections), TimeSpan.FromMinutes(parse.GetValue(minutes)), parse.GetValue(churn),
            parse.GetValue(rate), TimeSpan.FromSeconds(parse.GetValue(every)), SourceAddresses: 8),
        parse.GetValue(noDocs) ? null : Path.Combine(Repository.Root, "docs")));
    return command;
}
