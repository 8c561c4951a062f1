using System.Diagnostics;
using System.Globalization;
using Spectre.Console;
using Spectre.Console.Rendering;
using Switchboard.Bench.Load;

namespace Switchboard.Bench.Report;

/// <summary>
/// The live progress display: what is running, its deliveries so far, the current rate and
/// p99, and the CPU of the generator, the server and the machine, redrawn twice a second with
/// Spectre.Console; below it the last points finished. When the output is not a terminal (or
/// with --no-live) it prints a status line every few seconds instead.
/// </summary>
internal sealed class LiveStatus
{
    private readonly object _gate = new();
    private readonly List<string> _finished = [];
    private readonly Stopwatch _total = Stopwatch.StartNew();
    private string _title = "";
    private string _phase = "";
    private DeliveryRun? _run;
    private CpuWindow? _cpu;
    private Func<string>? _extra;
    private long _lastDelivered;
    private long _lastTicks = Stopwatch.GetTimestamp();
    private double _rate;

    public LiveStatus(bool live) => Live = live && AnsiConsole.Profile.Capabilities.Interactive;

    public bool Live { get; }

    public void Begin(string title)
    {
        lock (_gate) (_title, _phase, _run, _cpu, _extra) = (title, "starting", null, null, null);
        if (!Live) Console.WriteLine($"[{_total.Elapsed:hh\\:mm\\:ss}] {title}");
    }

    public void Phase(string phase, DeliveryRun? run = null, CpuWindow? cpu = null, Func<string>? extra = null)
    {
        lock (_gate) (_phase, _run, _cpu, _extra, _lastDelivered, _lastTicks, _rate) = (phase, run, cpu, extra, 0, Stopwatch.GetTimestamp(), 0);
    }

    public void Finished(string line)
    {
        lock (_gate)
        {
            _finished.Add(line);
            if (_finished.Count > 14) _finished.RemoveAt(0);
        }
        if (!Live) Console.WriteLine("  " + line);
    }

    public async Task RunAsync(Func<Task> work)
    {
        if (Live)
        {
            await AnsiConsole.Live(Render()).AutoClear(false).StartAsync(async ctx =>
            {
                var task = work();
                while (!task.IsCompleted)
                {
                    await Task.WhenAny(task, Task.Delay(500));
                    ctx.UpdateTarget(Render());
                }
                await task;
            });
            return;
        }
        var running = work();
        while (!running.IsCompleted)
        {
            await Task.WhenAny(running, Task.Delay(5000));
            if (!running.IsCompleted) Console.WriteLine($"  ... {StatusLine()}");
        }
        await running;
    }

    private string StatusLine()
    {
        lock (_gate)
        {
            var parts = new List<string> { _phase };
            if (_run is { } run)
            {
                var now = Stopwatch.GetTimestamp();
                var delivered = run.Delivered;
                var seconds = (double)(now - _lastTicks) / Stopwatch.Frequency;
                if (seconds > 0.2)
                {
                    _rate = (delivered - _lastDelivered) / seconds;
                    (_lastDelivered, _lastTicks) = (delivered, now);
                }
                var p99 = run.Latency.TotalCount > 0 ? run.Latency.GetValueAtPercentile(99) / 1000.0 : 0;
                parts.Add(string.Create(CultureInfo.InvariantCulture,
                    $"sent {run.Sent:N0}, delivered {delivered:N0} ({_rate:N0}/s), in flight {run.Outstanding:N0}, p99 {p99:N1} ms, errors {run.Errors}"));
            }
            if (_cpu is { } cpu)
            {
                var use = cpu.Read();
                parts.Add(string.Create(CultureInfo.InvariantCulture, $"CPU cores: generator {use.Generator:N2}, server {use.Server:N2}, machine {use.Machine:N2}"));
            }
            if (_extra is { } extra) parts.Add(extra());
            return string.Join("; ", parts);
        }
    }

    private IRenderable Render()
    {
        var status = StatusLine();
        var table = new Table().Border(TableBorder.Rounded).Expand();
        table.AddColumn(new TableColumn($"[bold]{Markup.Escape(_title)}[/]  [grey]{_total.Elapsed:hh\\:mm\\:ss}[/]"));
        table.AddRow(new Markup(Markup.Escape(status)));
        lock (_gate)
        {
            foreach (var line in _finished) table.AddRow(new Markup("[grey]" + Markup.Escape(line) + "[/]"));
        }
        return table;
    }
}
