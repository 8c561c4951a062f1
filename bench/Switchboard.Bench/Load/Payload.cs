using System.Globalization;

namespace Switchboard.Bench.Load;

/// <summary>
/// The text every measured message carries: <c>{stream}|{seq}|{ticks}|</c> and padding up to a
/// fixed length. <c>stream</c> names one sender-to-audience flow, <c>seq</c> counts 1, 2, 3, ...
/// within it, and <c>ticks</c> is <see cref="System.Diagnostics.Stopwatch.GetTimestamp"/> when it
/// was sent (or, at a fixed rate, when it was due). Senders and receivers live in the same
/// generator process, so one monotonic clock measures the one-way latency.
/// </summary>
internal static class Payload
{
    public const char Separator = '|';

    public static string Create(int stream, long seq, long ticks, int length)
    {
        var head = string.Create(CultureInfo.InvariantCulture, $"{stream}|{seq}|{ticks}|");
        return head.Length >= length ? head : head + new string('x', length - head.Length);
    }

    public static bool TryParse(ReadOnlySpan<char> text, out int stream, out long seq, out long ticks)
    {
        stream = 0;
        seq = 0;
        ticks = 0;
        var first = text.IndexOf(Separator);
        if (first <= 0 || !int.TryParse(text[..first], NumberStyles.None, CultureInfo.InvariantCulture, out stream)) return false;
        text = text[(first + 1)..];
        var second = text.IndexOf(Separator);
        if (second <= 0 || !long.TryParse(text[..second], NumberStyles.None, CultureInfo.InvariantCulture, out seq)) return false;
        text = text[(second + 1)..];
        var third = text.IndexOf(Separator);
        return third > 0 && long.TryParse(text[..third], NumberStyles.None, CultureInfo.InvariantCulture, out ticks);
    }
}
