namespace Switchboard.Bench.Clients;

/// <summary>
/// How the generator's own sockets complete. By default the runtime hands every socket completion
/// from its epoll thread to the thread pool; the generator, whose work per received frame is a
/// parse and a histogram entry, runs them inline on the epoll thread instead
/// (<c>DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1</c>), which saves it a thread hand-off per
/// receive and leaves that CPU to the server under test (measured in docs/benchmarks.md,
/// "Optimisations, measured"). The variable is set for this process only: every server the tool
/// starts gets its environment without it (<see cref="Peers.PeerProcess"/>), so each runs on the
/// runtime's defaults. Setting the variable to 0 before starting the tool keeps the default here too.
/// </summary>
internal static class GeneratorSockets
{
    public const string InlineCompletionsVariable = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    /// <summary>Whether this process's socket completions run inline; fixed once the first socket was created.</summary>
    public static bool InlineCompletions => Environment.GetEnvironmentVariable(InlineCompletionsVariable) == "1";

    /// <summary>Call first thing, before any socket exists: the runtime reads the variable once, when its socket engine starts.</summary>
    public static void PreferInlineCompletions()
    {
        if (Environment.GetEnvironmentVariable(InlineCompletionsVariable) is null)
        {
            Environment.SetEnvironmentVariable(InlineCompletionsVariable, "1");
        }
    }

    /// <summary>Removes the generator's setting from a child process's environment.</summary>
    public static void Unset(System.Diagnostics.ProcessStartInfo start) => start.Environment.Remove(InlineCompletionsVariable);
}
