using Microsoft.Extensions.Options;

namespace Switchboard.Server.Authentication;

/// <summary>
/// <c>Switchboard.Server token --user alice [--name Alice] [--role Admin]... [--expires 1h]</c>:
/// prints one JWT signed with this server's configured key, and nothing else.
/// </summary>
internal static class TokenCommand
{
    public const string Name = "token";

    private const string Usage =
        "usage: token --user <id> [--name <display name>] [--role <role>]... [--expires <30m|2h|1d|seconds>]";

    /// <summary>
    /// True when the first argument that is not a <c>--setting value</c> pair is <c>token</c>.
    /// <c>dotnet run</c> puts the project's <c>RunArguments</c> (<c>--environment Development</c>)
    /// first; those pairs are kept as configuration for the command.
    /// </summary>
    public static bool IsInvoked(string[] args, out string[] commandArgs)
    {
        var i = 0;
        while (i + 1 < args.Length && args[i].StartsWith("--", StringComparison.Ordinal) && !args[i].Contains('='))
        {
            i += 2;
        }
        if (i < args.Length && args[i] == Name)
        {
            commandArgs = [.. args[(i + 1)..], .. args[..i]];
            return true;
        }
        commandArgs = [];
        return false;
    }

    public static int Run(string[] args)
    {
        string? user = null, name = null;
        TimeSpan? expires = null;
        var roles = new List<string>();
        var rest = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            string Value()
            {
                if (i + 1 >= args.Length || args[i + 1].StartsWith("--", StringComparison.Ordinal))
                    throw new UsageException($"{args[i]} needs a value");
                return args[++i];
            }
            try
            {
                switch (args[i])
                {
                    case "--user": user = Value(); break;
                    case "--name": name = Value(); break;
                    case "--role": roles.Add(Value()); break;
                    case "--expires": expires = ParseDuration(Value()); break;
                    case "-h" or "--help": Console.Out.WriteLine(Usage); return 0;
                    case var setting when IsConfiguration(setting):
                        rest.Add(setting); // configuration for reading the key, e.g. --Jwt:Key=... or --environment X
                        if (!setting.Contains('=') && i + 1 < args.Length) rest.Add(args[++i]);
                        break;
                    default: throw new UsageException($"unknown option '{args[i]}'");
                }
            }
            catch (UsageException e)
            {
                Console.Error.WriteLine($"token: {e.Message}\n{Usage}");
                return 2;
            }
        }
        if (Core.Validation.InputRules.CheckUserId(user) is { } error)
        {
            Console.Error.WriteLine($"token: --user: {error.Message}\n{Usage}");
            return 2;
        }

        // Read configuration exactly as the server does (appsettings, environment, command line).
        var builder = WebApplication.CreateSlimBuilder(rest.ToArray());
        JwtOptions jwt;
        try
        {
            jwt = builder.Configuration.GetSection(JwtOptions.Section).Get<JwtOptions>() ?? new JwtOptions();
        }
        catch (InvalidOperationException e)
        {
            // A value the configuration binder cannot convert (--Jwt:ClockSkew=fast): an invalid
            // configuration like any other, not a crash.
            Console.Error.WriteLine($"token: {e.Message}");
            return 1;
        }
        var validation = new JwtOptionsValidator(builder.Environment).Validate(null, jwt);
        if (validation.Failed)
        {
            Console.Error.WriteLine($"token: {validation.FailureMessage}");
            return 1;
        }
        var issuer = new TokenIssuer(Options.Create(jwt), TimeProvider.System);
        Console.Out.WriteLine(issuer.Issue(user!, name, roles, expires));
        return 0;
    }

    /// <summary>Host switches and configuration keys (they contain ':'), as the server itself accepts them.</summary>
    private static bool IsConfiguration(string arg) =>
        arg.StartsWith("--", StringComparison.Ordinal) &&
        (arg.Contains(':') || arg.Split('=')[0] is "--environment" or "--contentRoot" or "--applicationName");

    internal static TimeSpan ParseDuration(string text)
    {
        var unit = text.Length > 0 ? text[^1] : ' ';
        var multiplier = unit switch { 's' => 1, 'm' => 60, 'h' => 3600, 'd' => 86400, _ => 0 };
        var digits = multiplier == 0 ? text : text[..^1];
        if (multiplier == 0) multiplier = 1;
        // Digits only: no sign, no surrounding spaces (found by the property tests).
        if (!long.TryParse(digits, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) || n <= 0 || n > 366L * 86400 / multiplier)
            throw new UsageException($"--expires '{text}' is not a positive duration such as 90s, 30m, 2h or 7d");
        return TimeSpan.FromSeconds(n * multiplier);
    }

    private sealed class UsageException(string message) : Exception(message);
}
