namespace Switchboard.Core.History;

/// <summary>Which boot of the machine this is: Linux's random boot id, new at every start of the kernel.</summary>
internal static class BootIdentity
{
    private const string LinuxBootId = "/proc/sys/kernel/random/boot_id";

    /// <summary>The boot id, or null where the system has none (then an unclean stop cannot be told from a reboot, and nothing is renewed).</summary>
    public static string? Current()
    {
        try
        {
            return File.Exists(LinuxBootId) ? File.ReadAllText(LinuxBootId).Trim() : null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }
}
