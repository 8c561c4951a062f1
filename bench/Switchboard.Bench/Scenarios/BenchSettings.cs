using Switchboard.Bench.Clients;
using Switchboard.Bench.Peers;

namespace Switchboard.Bench.Scenarios;

/// <summary>Everything a comparison run can be told; the defaults are the full run documented in docs/benchmarks.md.</summary>
internal sealed class BenchSettings
{
    public static readonly string[] AllScenarios = ["fanout", "groups", "users", "echo", "idle", "http", "redis"];

    public int Runs { get; set; } = 3;

    public TimeSpan Duration { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The discarded load each fresh server process gets before its points. Long enough for the
    /// .NET servers' tiered JIT to finish (about 15 s of load, measured from /proc per thread):
    /// with 2 s, a server with more code (Switchboard's publish path, SQLite) was still being
    /// compiled during its first points, and the comparison measured the JIT, not the server.
    /// </summary>
    public TimeSpan Warmup { get; set; } = TimeSpan.FromSeconds(15);

    public ServerKind[] Servers { get; set; } = ServerKinds.All;

    public string[] Scenarios { get; set; } = AllScenarios;

    /// <summary>Protocols of the SignalR servers in the fan-out scenario; every other scenario uses JSON.</summary>
    public WireProtocol[] Protocols { get; set; } = [WireProtocol.Json, WireProtocol.MessagePack];

    public int PayloadLength { get; set; } = 100;

    public int SourceAddresses { get; set; } = 8;

    public int Subscribers { get; set; } = 1000;

    public int FanoutPublishers { get; set; } = 4;

    /// <summary>Fixed delivery rates of the fan-out scenario, deliveries per second.</summary>
    public int[] FanoutRates { get; set; } = [20_000, 50_000, 100_000, 150_000];

    public int Groups { get; set; } = 1000;

    public int GroupSize { get; set; } = 10;

    public int GroupPublishers { get; set; } = 50;

    public int GroupsRate { get; set; } = 50_000;

    public int Users { get; set; } = 1000;

    public int UserPublishers { get; set; } = 50;

    public int UsersRate { get; set; } = 20_000;

    public int EchoClients { get; set; } = 100;

    public int IdleConnections { get; set; } = 10_000;

    /// <summary>The bound of the largest-count probe; the generator's own open-file limit may stop it earlier.</summary>
    public int MaxConnections { get; set; } = 100_000;

    public TimeSpan MaxConnectTime { get; set; } = TimeSpan.FromSeconds(120);

    /// <summary>The fixed delivery rate of the two-process (Redis) fan-out.</summary>
    public int RedisRate { get; set; } = 50_000;

    public int HttpConnections { get; set; } = 64;

    public int HttpThreads { get; set; } = 2;

    /// <summary>Deliveries in flight above which burst publishers pause and fixed-rate runs stop as not sustained.</summary>
    public long MaxOutstanding { get; set; } = 200_000;

    public bool Live { get; set; } = true;

    /// <summary>Where docs/benchmarks.md and docs/benchmarks/ are written; null: print only.</summary>
    public string? DocsFolder { get; set; }

    /// <summary>A short validation run: one run, 2 s points, a tenth of the connections.</summary>
    public void MakeQuick()
    {
        Runs = 1;
        Duration = TimeSpan.FromSeconds(2);
        Warmup = TimeSpan.FromSeconds(1);
        Subscribers = 200;
        FanoutRates = [20_000, 50_000];
        Groups = 200;
        GroupPublishers = 20;
        GroupsRate = 20_000;
        Users = 200;
        UserPublishers = 20;
        UsersRate = 10_000;
        RedisRate = 20_000;
        EchoClients = 20;
        IdleConnections = 1000;
        MaxConnections = 3000;
        MaxConnectTime = TimeSpan.FromSeconds(30);
    }

    public Dictionary<string, string> Describe() => new()
    {
        ["runs"] = Runs.ToString(),
        ["durationSeconds"] = Duration.TotalSeconds.ToString(),
        ["warmupSeconds"] = Warmup.TotalSeconds.ToString(),
        ["servers"] = string.Join(",", Servers.Select(s => s.Name())),
        ["scenarios"] = string.Join(",", Scenarios),
        ["protocols"] = string.Join(",", Protocols),
        ["payloadLength"] = PayloadLength.ToString(),
        ["sourceAddresses"] = SourceAddresses.ToString(),
        ["generatorInlineCompletions"] = GeneratorSockets.InlineCompletions ? "true" : "false",
        ["subscribers"] = Subscribers.ToString(),
        ["fanoutPublishers"] = FanoutPublishers.ToString(),
        ["fanoutRates"] = string.Join(",", FanoutRates),
        ["groups"] = Groups.ToString(),
        ["groupSize"] = GroupSize.ToString(),
        ["groupPublishers"] = GroupPublishers.ToString(),
        ["groupsRate"] = GroupsRate.ToString(),
        ["users"] = Users.ToString(),
        ["userPublishers"] = UserPublishers.ToString(),
        ["usersRate"] = UsersRate.ToString(),
        ["echoClients"] = EchoClients.ToString(),
        ["idleConnections"] = IdleConnections.ToString(),
        ["maxConnections"] = MaxConnections.ToString(),
        ["redisRate"] = RedisRate.ToString(),
        ["httpConnections"] = HttpConnections.ToString(),
        ["httpThreads"] = HttpThreads.ToString(),
        ["maxOutstanding"] = MaxOutstanding.ToString(),
    };
}
