using Microsoft.Playwright;

namespace Switchboard.Web.Tests.Infrastructure;

/// <summary>Screenshots go to test-output/web/ at the repository root (ignored by git).</summary>
public static class Screenshots
{
    public static readonly string Folder = Path.Combine(RepositoryRoot(), "test-output", "web");

    public static async Task SaveAsync(IPage page, string name)
    {
        Directory.CreateDirectory(Folder);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Folder, name + ".png"), FullPage = true, Timeout = Timeouts.PageMs });
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Switchboard.slnx"))) return dir.FullName;
        }
        return AppContext.BaseDirectory;
    }
}
