using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

// Microbenchmarks beside the load tool (not run by test.sh):
//   dotnet run -c Release --project bench/Switchboard.Microbench -- --filter '*'
//   dotnet run -c Release --project bench/Switchboard.Microbench -- --filter '*Serialisation*'
// They run in process (no generated project to build) as BenchmarkDotNet's short run (3 warm-ups,
// 3 measured iterations: enough for these, and minutes rather than an hour on 2 shared cores),
// with allocations measured.
var config = DefaultConfig.Instance
    .AddJob(Job.ShortRun.WithToolchain(InProcessEmitToolchain.Instance))
    .AddDiagnoser(MemoryDiagnoser.Default)
    .WithOptions(ConfigOptions.JoinSummary);
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, config);
