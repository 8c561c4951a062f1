using System.Globalization;
using System.Net;
using System.Text;
using Switchboard.Bench.Peers;

namespace Switchboard.Bench.Report;

/// <summary>The report's plots, written as plain SVG (no plotting dependency).</summary>
internal static class Plots
{
    private const int Width = 760;
    private const int Height = 400;
    private const int Left = 80;
    private const int Right = 200;
    private const int Top = 40;
    private const int Bottom = 60;
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    private static readonly Dictionary<string, string> Colours = new()
    {
        [ServerKind.SwitchboardHistoryOn.Name()] = "#1f77b4",
        [ServerKind.SwitchboardHistoryOff.Name()] = "#17becf",
        [ServerKind.PlainSignalR.Name()] = "#ff7f0e",
        [ServerKind.SocketIo.Name()] = "#2ca02c",
    };

    /// <summary>p99 latency (log scale) against the fixed delivery rate, one line per server.</summary>
    public static string LatencyByRate(List<PointResult> results, string scenario, string protocol, string title)
    {
        var rows = results.Where(r => r.Scenario == scenario && r.Metrics.ContainsKey(Metrics.TargetPerSecond) &&
                                      (r.Protocol == protocol || r.Protocol == "socket.io-json")).ToList();
        var svg = Start(title);
        if (rows.Count == 0) return End(svg.Append(Text(Width / 2, Height / 2, "no fixed-rate points in this run", "middle")));
        var rates = rows.Select(r => r.Metrics[Metrics.TargetPerSecond]).Distinct().Order().ToArray();
        var series = rows.GroupBy(r => r.Server).OrderBy(g => Array.IndexOf(ServerKinds.All.Select(k => k.Name()).ToArray(), g.Key))
            .Select(g => (Server: g.Key, Points: rates.Select(rate => (Rate: rate, P99: MarkdownReport.Aggregate(g.Where(x => x.Metrics[Metrics.TargetPerSecond] == rate), Metrics.P99Ms)))
                .Where(p => p.P99 is not null).Select(p => (p.Rate, P99: p.P99!)).ToArray())).ToArray();
        // The targets' bounds (20 ms at 50k/s, 40 ms at 100k/s) are kept in range so they show.
        var bounds = new[] { (Rate: 50_000.0, Ms: 20.0), (Rate: 100_000.0, Ms: 40.0) }.Where(b => rates.Contains(b.Rate)).ToArray();
        var all = series.SelectMany(s => s.Points).SelectMany(p => new[] { p.P99.Min, p.P99.Max }).Concat(bounds.Select(b => b.Ms)).Where(v => v > 0).ToArray();
        var lo = Math.Pow(10, Math.Floor(Math.Log10(Math.Max(all.DefaultIfEmpty(1).Min(), 0.1))));
        var hi = Math.Pow(10, Math.Ceiling(Math.Log10(Math.Max(all.DefaultIfEmpty(10).Max(), lo * 10))));
        double X(double rate) => Left + (rates.Length == 1 ? 0.5 : Array.IndexOf(rates, rate) / (double)(rates.Length - 1)) * (Width - Left - Right);
        double Y(double ms) => Top + (1 - (Math.Log10(Math.Max(ms, lo)) - Math.Log10(lo)) / (Math.Log10(hi) - Math.Log10(lo))) * (Height - Top - Bottom);
        Axes(svg, "deliveries per second (target)", "p99 ms");
        for (var decade = lo; decade <= hi * 1.001; decade *= 10)
        {
            svg.Append(Line(Left, Y(decade), Width - Right, Y(decade), "#ddd"));
            svg.Append(Text(Left - 8, Y(decade) + 4, decade.ToString("0.###", Inv), "end"));
        }
        foreach (var rate in rates) svg.Append(Text(X(rate), Height - Bottom + 18, $"{rate / 1000:N0}k", "middle"));
        foreach (var bound in bounds)
        {
            svg.Append(Inv, $"<circle cx=\"{X(bound.Rate):F1}\" cy=\"{Y(bound.Ms):F1}\" r=\"6\" fill=\"none\" stroke=\"#d62728\" stroke-dasharray=\"2,2\"/>");
        }
        var legend = 0;
        foreach (var (server, points) in series)
        {
            var colour = Colours.GetValueOrDefault(server, "#555");
            if (points.Length > 1)
            {
                svg.Append("<polyline fill=\"none\" stroke-width=\"2\" stroke=\"").Append(colour).Append("\" points=\"")
                    .AppendJoin(' ', points.Select(p => string.Create(Inv, $"{X(p.Rate):F1},{Y(p.P99.Median):F1}"))).Append("\"/>");
            }
            foreach (var p in points)
            {
                svg.Append(Line(X(p.Rate), Y(p.P99.Min), X(p.Rate), Y(p.P99.Max), colour));
                svg.Append(Inv, $"<circle cx=\"{X(p.Rate):F1}\" cy=\"{Y(p.P99.Median):F1}\" r=\"3.5\" fill=\"{colour}\"/>");
            }
            Legend(svg, legend++, server, colour);
        }
        Legend(svg, legend, "target bound", "#d62728", dashed: true);
        return End(svg);
    }

    /// <summary>Burst deliveries per second by scenario, one bar per server, with the spread as a whisker.</summary>
    public static string BurstBars(List<PointResult> results, string title)
    {
        var scenarios = new[] { "fanout", "groups", "users", "echo", "redis" }.Where(s => results.Any(r => r.Scenario == s)).ToArray();
        var servers = ServerKinds.All.Select(k => k.Name()).Where(s => results.Any(r => r.Server == s)).ToArray();
        var svg = Start(title);
        if (scenarios.Length == 0) return End(svg.Append(Text(Width / 2, Height / 2, "no burst points in this run", "middle")));
        MarkdownReport.Agg? Value(string scenario, string server)
        {
            var point = scenario == "echo" ? results.FirstOrDefault(r => r.Scenario == "echo")?.Point : "burst";
            return MarkdownReport.Aggregate(results.Where(r => r.Scenario == scenario && r.Point == point && r.Server == server &&
                                                               (r.Protocol == "json" || r.Protocol == "socket.io-json")), Metrics.DeliveriesPerSecond);
        }
        var max = scenarios.SelectMany(s => servers.Select(v => Value(s, v)?.Max ?? 0)).DefaultIfEmpty(1).Max();
        var step = NiceStep(max / 5);
        var top = Math.Ceiling(max / step) * step;
        double Y(double v) => Top + (1 - v / top) * (Height - Top - Bottom);
        Axes(svg, "scenario (burst; echo: round trips)", "per second");
        for (var v = 0.0; v <= top * 1.0001; v += step)
        {
            svg.Append(Line(Left, Y(v), Width - Right, Y(v), "#ddd"));
            svg.Append(Text(Left - 8, Y(v) + 4, v >= 1000 ? $"{v / 1000:N0}k" : v.ToString("N0", Inv), "end"));
        }
        var groupWidth = (Width - Left - Right) / (double)scenarios.Length;
        var barWidth = groupWidth * 0.8 / servers.Length;
        for (var i = 0; i < scenarios.Length; i++)
        {
            var x0 = Left + i * groupWidth + groupWidth * 0.1;
            svg.Append(Text(Left + (i + 0.5) * groupWidth, Height - Bottom + 18, scenarios[i], "middle"));
            for (var j = 0; j < servers.Length; j++)
            {
                if (Value(scenarios[i], servers[j]) is not { } v) continue;
                var x = x0 + j * barWidth;
                var colour = Colours.GetValueOrDefault(servers[j], "#555");
                svg.Append(Inv, $"<rect x=\"{x:F1}\" y=\"{Y(v.Median):F1}\" width=\"{barWidth * 0.9:F1}\" height=\"{Y(0) - Y(v.Median):F1}\" fill=\"{colour}\"/>");
                var mid = x + barWidth * 0.45;
                svg.Append(Line(mid, Y(v.Min), mid, Y(v.Max), "#333"));
            }
        }
        for (var j = 0; j < servers.Length; j++) Legend(svg, j, servers[j], Colours.GetValueOrDefault(servers[j], "#555"));
        return End(svg);
    }

    private static double NiceStep(double raw)
    {
        if (raw <= 0) return 1;
        var magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        var fraction = raw / magnitude;
        return (fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10) * magnitude;
    }

    private static StringBuilder Start(string title) => new StringBuilder()
        .Append(Inv, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{Height}\" viewBox=\"0 0 {Width} {Height}\" font-family=\"sans-serif\" font-size=\"12\">")
        .Append(Inv, $"<rect width=\"{Width}\" height=\"{Height}\" fill=\"white\"/>")
        .Append(Text(Width / 2.0, 22, title, "middle", bold: true));

    private static string End(StringBuilder svg) => svg.Append("</svg>\n").ToString();

    private static void Axes(StringBuilder svg, string xLabel, string yLabel)
    {
        svg.Append(Line(Left, Top, Left, Height - Bottom, "#333"));
        svg.Append(Line(Left, Height - Bottom, Width - Right, Height - Bottom, "#333"));
        svg.Append(Text((Left + Width - Right) / 2.0, Height - 18, xLabel, "middle"));
        svg.Append(Inv, $"<text x=\"18\" y=\"{(Top + Height - Bottom) / 2.0:F1}\" text-anchor=\"middle\" transform=\"rotate(-90 18 {(Top + Height - Bottom) / 2.0:F1})\">{WebUtility.HtmlEncode(yLabel)}</text>");
    }

    private static void Legend(StringBuilder svg, int index, string label, string colour, bool dashed = false)
    {
        var y = Top + 10 + index * 20;
        var x = Width - Right + 20;
        svg.Append(dashed
            ? string.Create(Inv, $"<circle cx=\"{x + 8}\" cy=\"{y - 4}\" r=\"6\" fill=\"none\" stroke=\"{colour}\" stroke-dasharray=\"2,2\"/>")
            : string.Create(Inv, $"<rect x=\"{x}\" y=\"{y - 10}\" width=\"16\" height=\"12\" fill=\"{colour}\"/>"));
        svg.Append(Text(x + 22, y, label, "start"));
    }

    private static string Line(double x1, double y1, double x2, double y2, string colour) =>
        string.Create(Inv, $"<line x1=\"{x1:F1}\" y1=\"{y1:F1}\" x2=\"{x2:F1}\" y2=\"{y2:F1}\" stroke=\"{colour}\"/>");

    private static string Text(double x, double y, string text, string anchor, bool bold = false) =>
        string.Create(Inv, $"<text x=\"{x:F1}\" y=\"{y:F1}\" text-anchor=\"{anchor}\"{(bold ? " font-weight=\"bold\"" : "")}>{WebUtility.HtmlEncode(text)}</text>");
}
