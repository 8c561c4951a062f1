using System.Diagnostics;
using Switchboard.Server.Tests.Infrastructure;

namespace Switchboard.Server.Tests.Hostile;

/// <summary>The systemd unit in deploy/ is valid and keeps its hardening.</summary>
public sealed class DeployTests
{
    private static string Unit() => RepositoryFiles.Find("deploy/switchboard.service");

    [Fact]
    public async Task TheSystemdUnitVerifies()
    {
        // systemd-analyze checks the unit's syntax and that the directives are known to this systemd.
        var start = new ProcessStartInfo("systemd-analyze", ["verify", Unit()])
        {
            RedirectStandardOutput = true, RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TestTimeouts.Network);

        Assert.True(process.ExitCode == 0, await output + await errors);
        Assert.Equal("", (await errors).Trim());
    }

    [Theory]
    [InlineData("DynamicUser=yes")]
    [InlineData("ProtectSystem=strict")]
    [InlineData("ProtectHome=yes")]
    [InlineData("NoNewPrivileges=yes")]
    [InlineData("EnvironmentFile=/etc/switchboard/switchboard.env")]
    [InlineData("StateDirectory=switchboard")]
    [InlineData("Environment=Switchboard__History__DataFolder=/var/lib/switchboard")]
    [InlineData("KillSignal=SIGTERM")]
    public void TheUnitKeepsItsHardening(string line) =>
        Assert.Contains(line, File.ReadAllLines(Unit()));
}
