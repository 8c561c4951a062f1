namespace Switchboard.Server.Tests.Infrastructure;

/// <summary>Files the repository ships (deploy/), found by walking up from the test's build folder.</summary>
public static class RepositoryFiles
{
    /// <summary>The full path of <paramref name="relativePath"/> (for example <c>deploy/haproxy.cfg</c>).</summary>
    public static string Find(string relativePath)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, relativePath);
            if (File.Exists(candidate)) return candidate;
        }
        throw new FileNotFoundException($"{relativePath} not found above {AppContext.BaseDirectory}");
    }
}
