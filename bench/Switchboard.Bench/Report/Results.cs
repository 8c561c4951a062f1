using System.Text.Json.Serialization;

namespace Switchboard.Bench.Report;

/// <summary>
/// One measured point of one run: which scenario and point (for example fan-out at 50,000
/// deliveries/s), which server and protocol, which run, and its figures by name (see
/// <see cref="Metrics"/>).
/// </summary>
internal sealed record PointResult(string Scenario, string Point, string Server, string Protocol, int Run, Dictionary<string, double> Metrics)
{
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Note { get; init; }
}

/// <summary>The names of the figures a <see cref="PointResult"/> may carry.</summary>
internal static class Metrics
{
    public const string DeliveriesPerSecond = "deliveriesPerSecond";
    public const string TargetPerSecond = "targetPerSecond";
    public const string Sustained = "sustained";
    public const string P50Ms = "p50Ms";
    public const string P99Ms = "p99Ms";
    public const string P999Ms = "p999Ms";
    public const string MaxMs = "maxMs";
    public const string MeanMs = "meanMs";
    public const string Sent = "sent";
    public const string Expected = "expected";
    public const string Delivered = "delivered";
    public const string Lost = "lost";
    public const string Reordered = "reordered";
    public const string Duplicates = "duplicates";
    public const string Errors = "errors";
    public const string GeneratorCpu = "generatorCpuCores";
    public const string ServerCpu = "serverCpuCores";
    public const string MachineCpu = "machineCpuCores";
    public const string Connections = "connections";
    public const string ConnectsPerSecond = "connectsPerSecond";
    public const string ResidentBytesPerConnection = "residentBytesPerConnection";
    public const string HeapBytesPerConnection = "heapBytesPerConnection";
    public const string ResidentBytesBefore = "residentBytesBefore";
    public const string ResidentBytesAfter = "residentBytesAfter";
    public const string HeapBytesBefore = "heapBytesBefore";
    public const string HeapBytesAfter = "heapBytesAfter";
    public const string ConnectionsHeld = "connectionsHeld";
    public const string ConnectionsAttempted = "connectionsAttempted";
    public const string ConnectionsOpened = "connectionsOpened";
    public const string RequestsPerSecond = "requestsPerSecond";
    public const string Requests = "requests";
    public const string Non2xx = "non2xx";
    public const string SocketErrors = "socketErrors";
    public const string WrkCpu = "wrkCpuCores";
    public const string Notifications = "notifications";
    public const string RoundTripsPerSecond = "roundTripsPerSecond";
}

/// <summary>The machine the run was taken on.</summary>
internal sealed record MachineInfo(string Cpu, int Cores, double MemoryGiB, string Os, string Kernel, string DotnetRuntime, string? Node, string? Wrk,
    long OpenFileLimit, string EphemeralPorts, double LoadAverageAtStart);

/// <summary>The whole of one comparison: what was run, where, and every point of every run.</summary>
internal sealed record ComparisonReport(DateTimeOffset Started, DateTimeOffset Finished, MachineInfo Machine, Dictionary<string, string> Settings,
    List<PointResult> Results, List<string> Notes);
