using System.CommandLine;
using Switchboard.Bench;
using Switchboard.Bench.Clients;
using Switchboard.Bench.History;
using Switchboard.Bench.Peers;
using Switchboard.Bench.Report;
using Switchboard.Bench.Scenarios;

// Switchboard's benchmark tool. Build first (bench/run.sh builds everything and runs `compare`):
//   dotnet bench/Switchboard.Bench/bin/Release/net10.0/Switchboard.Bench.dll compare [options]
//   ... history [runs] [publishers] [seconds] [catch-up] [durability]
//   ... store [appenders] [seconds]
//   ... report <results.json>
var root = new RootCommand("Switchboard's benchmark tool: the side-by-side comparison (compare), the durable-history benchmarks (history, store).");
root.Subcommands.Add(CompareCommand.Create());
root.Subcommands.Add(HistoryCommand());
root.Subcommands.Add(StoreCommand());
root.Subcommands.Add(ReportCommand());
return await root.Parse(args).InvokeAsync();

static Command HistoryCommand()
{
    var runs = new Argument<int>("runs") { Description = "Runs of each measurement.", DefaultValueFactory = _ => 3 };
    var publishers = new Argument<int>("publishers") { Description = "Connections publishing back to back.", DefaultValueFactory = _ => 64 };
    var seconds = new Argument<int>("seconds") { Description = "Seconds measured per run.", DefaultValueFactory = _ => 5 };
    var catchUp = new Argument<int>("catch-up") { Description = "Missed messages to catch up on.", DefaultValueFactory = _ => 10_000 };
    var durability = new Argument<string>("durability") { Description = "PowerLoss or ProcessCrash.", DefaultValueFactory = _ => "PowerLoss" };
    durability.AcceptOnlyFromAmong("PowerLoss", "ProcessCrash");
    var command = new Command("history", "Publish rate with durable history on and off, and catching up on missed messages (issue 3).")
    {
        runs, publishers, seconds, catchUp, durability,
    };
    command.SetAction((parse, _) => HistoryBenchmark.RunAsync(parse.GetValue(runs), parse.GetValue(publishers), TimeSpan.FromSeconds(parse.GetValue(seconds)),
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
