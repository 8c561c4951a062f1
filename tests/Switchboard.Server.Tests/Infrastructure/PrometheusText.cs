using System.Globalization;

namespace Switchboard.Server.Tests.Infrastructure;

/// <summary>Reads the <c>/metrics</c> endpoint's Prometheus text format.</summary>
public static class PrometheusText
{
    /// <summary>Series key for <see cref="Parse"/>: "name", or "name|label=value" for one of Switchboard's labels.</summary>
    public static string Series(string name, string? label = null, string? value = null) =>
        label is null ? name : $"{name}|{label}={value}";

    /// <summary>Prometheus text format to "name" and "name|label=value" keys (only Switchboard's one label).</summary>
    public static Dictionary<string, double> Parse(string text)
    {
        var result = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0 || line[0] == '#') continue;
            var space = line.LastIndexOf(' ');
            var series = line[..space];
            var value = double.Parse(line[(space + 1)..], CultureInfo.InvariantCulture);
            var brace = series.IndexOf('{');
            var name = brace < 0 ? series : series[..brace];
            result[name] = value;
            foreach (var label in new[] { "kind", "outcome", "code" })
            {
                var at = series.IndexOf($",{label}=\"", StringComparison.Ordinal);
                if (at < 0) continue;
                var start = at + label.Length + 3;
                result[$"{name}|{label}={series[start..series.IndexOf('"', start)]}"] = value;
            }
        }
        return result;
    }
}
