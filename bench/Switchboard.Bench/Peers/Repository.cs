namespace Switchboard.Bench.Peers;

/// <summary>Where the repository's built pieces are, found from the tool's own folder.</summary>
internal static class Repository
{
    public static string Root { get; } = FindRoot();

    public static string SwitchboardDll => Path.Combine(Root, "src", "Switchboard.Server", "bin", "Release", "net10.0", "Switchboard.Server.dll");

    public static string PlainSignalRDll => Path.Combine(Root, "bench", "peers", "PlainSignalR", "bin", "Release", "net10.0", "PlainSignalR.dll");

    public static string SocketIoFolder => Path.Combine(Root, "bench", "peers", "socketio");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Switchboard.slnx"))) return dir.FullName;
        }
        for (var dir = new DirectoryInfo(Environment.CurrentDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Switchboard.slnx"))) return dir.FullName;
        }
        throw new InvalidOperationException("Cannot find the repository (Switchboard.slnx) above the tool or the current directory.");
    }
}
