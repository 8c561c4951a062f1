using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace Switchboard.Bench.Load;

/// <summary>CPU time and memory of a process, read from /proc (Linux), and of the whole machine.</summary>
internal static partial class ProcessStats
{
    private static readonly double TicksPerSecond = 100; // USER_HZ: 100 on every Linux the project runs on

    /// <summary>User plus system CPU time of a process so far, or null once it has gone.</summary>
    public static TimeSpan? CpuTime(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            // The command name (field 2) is in parentheses and may hold spaces; count from after it.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            var utime = long.Parse(fields[11], CultureInfo.InvariantCulture);
            var stime = long.Parse(fields[12], CultureInfo.InvariantCulture);
            return TimeSpan.FromSeconds((utime + stime) / TicksPerSecond);
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>Resident set size of a process in bytes, or null once it has gone.</summary>
    public static long? ResidentBytes(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    return long.Parse(line[6..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
                }
            }
        }
        catch (IOException)
        {
        }
        return null;
    }

    /// <summary>The soft limit on open files of a process, from /proc/{pid}/limits.</summary>
    public static long? OpenFileLimit(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/limits"))
            {
                if (line.StartsWith("Max open files", StringComparison.Ordinal))
                {
                    var parts = line[14..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    return long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var soft) ? soft : null;
                }
            }
        }
        catch (IOException)
        {
        }
        return null;
    }

    /// <summary>CPU time of children this process has waited for (wrk, once it exited).</summary>
    public static TimeSpan ReapedChildrenCpuTime()
    {
        if (GetRusage(-1 /* RUSAGE_CHILDREN */, out var usage) != 0) return TimeSpan.Zero;
        return TimeSpan.FromSeconds(usage.UserSeconds + usage.UserMicros / 1e6 + usage.SystemSeconds + usage.SystemMicros / 1e6);
    }

    /// <summary>Busy and total jiffies of all CPUs together, from /proc/stat.</summary>
    public static (long Busy, long Total) MachineJiffies()
    {
        var line = File.ReadLines("/proc/stat").First();
        var values = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(v => long.Parse(v, CultureInfo.InvariantCulture)).ToArray();
        var idle = values[3] + (values.Length > 4 ? values[4] : 0); // idle + iowait
        var total = values.Take(8).Sum(); // user nice system idle iowait irq softirq steal
        return (total - idle, total);
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct RUsage
    {
        public long UserSeconds;
        public long UserMicros;
        public long SystemSeconds;
        public long SystemMicros;
        public long MaxRss, IxRss, IdRss, IsRss, MinFlt, MajFlt, NSwap, InBlock, OuBlock, MsgSnd, MsgRcv, NSignals, NVCsw, NIvCsw;
    }

    [LibraryImport("libc", EntryPoint = "getrusage", SetLastError = true)]
    private static partial int GetRusage(int who, out RUsage usage);
}

/// <summary>
/// CPU used over a window, as cores (1.0 is one core busy all the time): this generator, a
/// server process, and the whole machine, so a saturated generator or a busy neighbour shows.
/// </summary>
internal sealed class CpuWindow
{
    private readonly int[] _pids;
    private readonly TimeSpan _generatorStart;
    private readonly TimeSpan?[] _start;
    private readonly (long Busy, long Total) _machineStart;
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    public CpuWindow(params int[] pids)
    {
        _pids = pids;
        _generatorStart = Process.GetCurrentProcess().TotalProcessorTime;
        _start = pids.Select(ProcessStats.CpuTime).ToArray();
        _machineStart = ProcessStats.MachineJiffies();
    }

    public CpuUse Read()
    {
        var seconds = Math.Max(_clock.Elapsed.TotalSeconds, 1e-3);
        var generator = (Process.GetCurrentProcess().TotalProcessorTime - _generatorStart).TotalSeconds / seconds;
        double servers = 0;
        for (var i = 0; i < _pids.Length; i++)
        {
            if (_start[i] is { } start && ProcessStats.CpuTime(_pids[i]) is { } now) servers += (now - start).TotalSeconds / seconds;
        }
        var machine = ProcessStats.MachineJiffies();
        var totalJiffies = machine.Total - _machineStart.Total;
        var machineCores = totalJiffies > 0 ? (double)(machine.Busy - _machineStart.Busy) / totalJiffies * Environment.ProcessorCount : 0;
        return new CpuUse(Math.Round(generator, 2), Math.Round(servers, 2), Math.Round(machineCores, 2));
    }
}

/// <summary>Cores used: by the generator, by the server process(es), and by everything on the machine.</summary>
internal sealed record CpuUse(double Generator, double Server, double Machine);
