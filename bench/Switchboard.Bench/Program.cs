using Switchboard.Bench;

// Usage: dotnet run -c Release --project bench/Switchboard.Bench -- history [runs] [publishers] [seconds] [catch-up]
// Build the server first: dotnet build src/Switchboard.Server -c Release
var scenario = args.Length > 0 ? args[0] : "history";
int Arg(int index, int fallback) => args.Length > index && int.TryParse(args[index], out var v) ? v : fallback;

return scenario switch
{
    "history" => await HistoryBenchmark.RunAsync(runs: Arg(1, 3), publishers: Arg(2, 64), duration: TimeSpan.FromSeconds(Arg(3, 5)), catchUp: Arg(4, 10_000),
        durability: args.Length > 5 ? args[5] : "PowerLoss"),
    "store" => await StoreBenchmark.RunAsync(appenders: Arg(1, 64), duration: TimeSpan.FromSeconds(Arg(2, 3))),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: Switchboard.Bench history [runs=3] [publishers=64] [seconds=5] [catch-up=10000] [durability=PowerLoss|ProcessCrash]");
    Console.Error.WriteLine("       Switchboard.Bench store [appenders=64] [seconds=3]");
    return 2;
}
