using System.Text;

namespace Switchboard.Server.Tests.Infrastructure;

/// <summary>
/// What a test did and saw, each line with the wall-clock time the server processes also log
/// (<see cref="ServerProcess"/>), for the report of a failure that only happens now and then.
/// </summary>
public sealed class Timeline
{
    private readonly List<string> _lines = [];

    public void Add(string what)
    {
        var line = $"{DateTime.Now:HH:mm:ss.fff} {what}";
        lock (_lines) _lines.Add(line);
    }

    /// <summary>
    /// The timeline, then <paramref name="state"/> (what the clients hold now), then every node's
    /// log, or only its lines that contain <paramref name="only"/>.
    /// </summary>
    public string Report(Cluster cluster, string state, string? only = null)
    {
        var report = new StringBuilder();
        report.AppendLine("--- timeline");
        lock (_lines) foreach (var line in _lines) report.AppendLine(line);
        report.AppendLine("--- state at " + DateTime.Now.ToString("HH:mm:ss.fff")).AppendLine(state);
        for (var i = 0; i < cluster.Nodes.Count; i++)
        {
            report.AppendLine($"--- node {i} ({cluster.Nodes[i].BaseUrl}, pid {cluster.Nodes[i].Pid})")
                .AppendJoin('\n', cluster.Nodes[i].Output.Split('\n').Where(l => only is null || l.Contains(only, StringComparison.Ordinal)))
                .AppendLine();
        }
        return report.ToString();
    }
}
