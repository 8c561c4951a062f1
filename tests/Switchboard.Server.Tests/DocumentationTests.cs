using System.ComponentModel;
using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Switchboard.Contracts;
using Switchboard.Core.History;
using Switchboard.Redis;
using Switchboard.Server.Authentication;
using Switchboard.Server.Hosting;
using Switchboard.Server.Tests.Infrastructure;

namespace Switchboard.Server.Tests;

/// <summary>
/// Keeps docs/ true to the code where a machine can tell: every setting the code binds has a row
/// with its default, every refusal of a setting is in configuration.md word for word, every error
/// code and close reason is in protocol.md, every hub method (with its arguments, in order) and
/// client event is in protocol.md, every HTTP route is in http-api.md, and the log event
/// ids the docs name have the level they say. Each check also runs the other way: a row the code
/// no longer honours fails too.
/// </summary>
public sealed partial class DocumentationTests(SwitchboardFactory server) : IClassFixture<SwitchboardFactory>
{
    private static string Doc(string name) => File.ReadAllText(RepositoryFiles.Find("docs/" + name));

    /// <summary>The lines of <paramref name="text"/> from the heading <paramref name="heading"/> to the next heading of its level or above.</summary>
    private static string[] Section(string text, string heading)
    {
        var lines = text.Split('\n');
        var start = Array.FindIndex(lines, l => l.TrimEnd() == heading);
        Assert.True(start >= 0, $"'{heading}' is a heading");
        var level = heading.IndexOf(' ');
        var end = Array.FindIndex(lines, start + 1, l => l.StartsWith('#') && l.IndexOf(' ') is var n && n > 0 && n <= level && l[..n].All(c => c == '#'));
        return lines[(start + 1)..(end < 0 ? lines.Length : end)];
    }

    /// <summary>The cells of the table rows among <paramref name="lines"/>, without separator rows (header rows stay; their cells are not backticked).</summary>
    private static IEnumerable<string[]> Rows(IEnumerable<string> lines) =>
        lines.Where(l => l.StartsWith("| ", StringComparison.Ordinal) && !l.StartsWith("|---", StringComparison.Ordinal))
            .Select(l => l.Trim().Trim('|').Split(" | ").Select(c => c.Trim()).ToArray());

    private static void None(IEnumerable<string> items, string what)
    {
        var list = items.ToList();
        Assert.True(list.Count == 0, $"{what}: {string.Join(", ", list)}");
    }

    private static string? Backticked(string cell) => BacktickedText().Match(cell) is { Success: true } m ? m.Groups[1].Value : null;

    [GeneratedRegex("^`([^`]+)`")]
    private static partial Regex BacktickedText();

    // ---- Settings (configuration.md, scale-out.md) ----

    private static readonly (object Options, string Section)[] SettingRoots =
    [
        (new JwtOptions(), JwtOptions.Section),
        (new SignalRSettings(), SignalRSettings.Section),
        (new SwitchboardOptions(), SwitchboardOptions.Section),
        (new HistoryOptions(), HistoryOptions.Section),
        (new RedisOptions(), RedisOptions.Section),
    ];

    /// <summary>Every key the code binds, with its type and default: the settable properties, nested options classes flattened.</summary>
    private static IEnumerable<(string Key, Type Type, object? Default)> BoundSettings(object options, string prefix)
    {
        foreach (var property in options.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite))
        {
            var key = prefix + ":" + property.Name;
            var value = property.GetValue(options);
            if (property.PropertyType.IsClass && property.PropertyType.Namespace?.StartsWith("Switchboard", StringComparison.Ordinal) == true)
            {
                foreach (var nested in BoundSettings(value!, key)) yield return nested;
            }
            else
            {
                yield return (key, property.PropertyType, value);
            }
        }
    }

    /// <summary>The settings rows of configuration.md and scale-out.md: key and default cell.</summary>
    private static Dictionary<string, string> DocumentedSettings()
    {
        var rows = Rows(Section(Doc("configuration.md"), "## Settings")).Concat(Rows(Section(Doc("scale-out.md"), "## Settings")));
        var documented = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var cells in rows)
        {
            if (Backticked(cells[0]) is { } key && SettingRoots.Any(r => key.StartsWith(r.Section + ":", StringComparison.Ordinal)))
            {
                Assert.True(documented.TryAdd(key, cells[1]), $"{key} is documented once");
            }
        }
        return documented;
    }

    [Fact]
    public void EverySettingTheCodeBindsIsDocumentedWithItsDefaultAndEveryDocumentedSettingIsBound()
    {
        var bound = SettingRoots.SelectMany(r => BoundSettings(r.Options, r.Section)).ToList();
        var documented = DocumentedSettings();

        None(bound.Select(s => s.Key).Except(documented.Keys), "bound by the code but without a row in configuration.md or scale-out.md");
        None(documented.Keys.Except(bound.Select(s => s.Key)), "documented but not bound by the code");
        foreach (var (key, type, value) in bound)
        {
            // A default written as a value (`16384`, `00:00:30`, `PowerLoss`) must be the code's; "none", "empty" and "unset" are prose.
            if (Backticked(documented[key]) is not { } written) continue;
            var parsed = TypeDescriptor.GetConverter(Nullable.GetUnderlyingType(type) ?? type).ConvertFromInvariantString(written);
            Assert.True(Equals(parsed, value), $"{key}: the docs say the default is {written}, the code says {value}");
        }
    }

    /// <summary>Options with every setting out of range, in as many variants as the validators have exclusive branches.</summary>
    private IEnumerable<string> EveryRefusal()
    {
        var environment = server.Get<IHostEnvironment>();
        var jwt = new JwtOptionsValidator(environment);
        foreach (var key in new string?[] { null, "short", JwtOptions.DevelopmentKey })
        {
            var failures = jwt.Validate(null, new JwtOptions { Key = key, Issuer = " ", Audience = "", ClockSkew = TimeSpan.FromMinutes(-1), TokenLifetime = TimeSpan.Zero }).Failures;
            foreach (var failure in failures ?? []) yield return failure;
        }
        var signalR = new SignalRSettings
        {
            MaximumReceiveMessageSize = 1, StreamBufferCapacity = 0, MaximumParallelInvocationsPerClient = 0,
            KeepAliveInterval = TimeSpan.Zero, ClientTimeoutInterval = TimeSpan.Zero, HandshakeTimeout = TimeSpan.Zero,
        };
        foreach (var failure in new SignalRSettingsValidator().Validate(null, signalR).Failures ?? []) yield return failure;
        var switchboard = new SwitchboardOptions
        {
            MaxMessageLength = 0,
            AllowAnonymousHubs = ["secure-chat", "no-such-hub"],
            Streaming = new() { PriceInterval = TimeSpan.Zero, MaxSymbols = 0, MaxCount = 0, MaxDelayMilliseconds = -1 },
            Upload = new() { ProgressInterval = TimeSpan.FromSeconds(-1) },
            Webhooks = new()
            {
                Url = "ftp://example.com/hook", Secret = "short", Events = ["nope"], MaxBatchSize = 0, MaxQueue = 0,
                Timeout = TimeSpan.Zero, MaxAttempts = 0, RetryDelay = TimeSpan.Zero,
            },
            Recovery = new() { MaxMessages = 0, MaxCharacters = 0, MaxHistory = -1 },
            Limits = new()
            {
                InvocationsPerSecond = -1, InvocationBurst = 0, ViolationsBeforeClose = 0, HttpRequestsPerSecond = -1, HttpBurst = 0,
                MaxConnectionsPerUser = -1, MaxGroupsPerConnection = 0, MaxRequestBodyBytes = 0, MaxConnections = -1, MaxOutboundQueueBytes = 1,
            },
        };
        foreach (var failure in new SwitchboardOptionsValidator().Validate(null, switchboard).Failures ?? []) yield return failure;
        var history = new HistoryOptions
        {
            DataFolder = " ", FileName = "a/b", MaxMessagesPerGroup = 0, MaxAge = TimeSpan.Zero, TrimInterval = TimeSpan.Zero,
            IdempotencyWindow = TimeSpan.FromSeconds(-1), MaxBatchSize = 0,
        };
        foreach (var validator in server.Get<IEnumerable<IValidateOptions<HistoryOptions>>>())
        {
            foreach (var failure in validator.Validate(null, history).Failures ?? []) yield return failure;
        }
        var redis = new RedisOptions { ChannelPrefix = "two words", HeartbeatInterval = TimeSpan.Zero, ProcessTimeout = TimeSpan.FromSeconds(-1), CommandTimeout = TimeSpan.Zero, AnswerTimeout = TimeSpan.Zero };
        foreach (var failure in new RedisOptionsValidator().Validate(null, redis).Failures ?? []) yield return failure;
    }

    [Fact]
    public void EveryRefusalOfASettingIsInConfigurationMdWordForWordAndEveryDocumentedOneCanStillHappen()
    {
        // Rows "| `Setting` | `Message` |" of the start-up validation section; {placeholders} stand for any text.
        var documented = Rows(Section(Doc("configuration.md"), "## Start-up validation"))
            .Where(cells => cells.Length == 2 && Backticked(cells[1]) is not null)
            .Select(cells => (Setting: Backticked(cells[0])!, Message: Backticked(cells[1])!,
                Pattern: new Regex("^" + Placeholder().Replace(Regex.Escape(Backticked(cells[1])!), ".+") + "$")))
            .ToList();
        var refusals = EveryRefusal().ToList();
        Assert.True(refusals.Count > 40, $"the validators refused {refusals.Count} settings");

        foreach (var refusal in refusals)
        {
            var row = documented.FirstOrDefault(d => d.Pattern.IsMatch(refusal));
            Assert.True(row.Pattern is not null, $"configuration.md lists the refusal '{refusal}'");
            Assert.StartsWith(row.Setting + " ", refusal); // in the row of the setting it names
        }
        foreach (var (setting, message, pattern) in documented)
        {
            Assert.True(refusals.Exists(pattern.IsMatch), $"the code can still refuse {setting} with '{message}'");
        }
    }

    [GeneratedRegex(@"\\\{[A-Za-z ]+}")]
    private static partial Regex Placeholder();

    // ---- Error codes and close reasons (protocol.md, http-api.md) ----

    private static IEnumerable<string> Constants(Type type) =>
        type.GetFields(BindingFlags.Public | BindingFlags.Static).Where(f => f.IsLiteral).Select(f => (string)f.GetRawConstantValue()!);

    [Fact]
    public void EveryErrorCodeIsInProtocolMdAndEveryDocumentedCodeExists()
    {
        var codes = Constants(typeof(ErrorCodes)).ToHashSet(StringComparer.Ordinal);
        var documented = Rows(Section(Doc("protocol.md"), "### Error codes"))
            .Select(cells => Backticked(cells[0])).OfType<string>().ToHashSet(StringComparer.Ordinal);

        None(codes.Except(documented), "error codes missing from protocol.md");
        None(documented.Except(codes), "codes in protocol.md that ErrorCodes no longer has");

        var api = Rows(Section(Doc("http-api.md"), "## Errors")).Select(cells => Backticked(cells[0])).OfType<string>().ToList();
        Assert.NotEmpty(api);
        None(api.Except(codes), "codes in http-api.md that ErrorCodes does not have");
    }

    [Fact]
    public void EveryCloseReasonIsInProtocolMd()
    {
        var documented = Rows(Section(Doc("protocol.md"), "## Close reasons")).Select(cells => Backticked(cells[0])).OfType<string>().ToList();

        foreach (var reason in Constants(typeof(CloseReasons)))
        {
            Assert.True(documented.Exists(d => d.StartsWith(reason + ": ", StringComparison.Ordinal)), $"protocol.md lists the close reason {reason}");
        }
    }

    // ---- Hub methods and events (protocol.md) ----

    public static TheoryData<Type, string> HubTypes() => new()
    {
        { typeof(Switchboard.Server.Hubs.ChatHub), HubRoutes.Chat }, { typeof(Switchboard.Server.Hubs.NotificationHub), HubRoutes.Notifications },
        { typeof(Switchboard.Server.Hubs.SecureChatHub), HubRoutes.SecureChat }, { typeof(Switchboard.Server.Hubs.TypedChatHub), HubRoutes.TypedChat },
        { typeof(Switchboard.Server.Hubs.StreamingHub), HubRoutes.Streaming }, { typeof(Switchboard.Server.Hubs.UploadHub), HubRoutes.Upload },
        { typeof(Switchboard.Server.Hubs.RobustHub), HubRoutes.Robust },
    };

    [Theory]
    [MemberData(nameof(HubTypes))]
    public void EveryHubMethodIsInProtocolMdWithItsArgumentsAndEveryDocumentedMethodExists(Type hub, string path)
    {
        var methods = hub.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly)
            .Where(m => !m.IsSpecialName && m.GetBaseDefinition().DeclaringType == hub)
            .ToDictionary(m => m.Name, StringComparer.Ordinal);
        // The method table is the one whose header starts "| Method |".
        var section = Section(Doc("protocol.md"), $"### `{path}`");
        var table = section.SkipWhile(l => !l.StartsWith("| Method |", StringComparison.Ordinal)).TakeWhile(l => l.StartsWith('|'));
        var documented = Rows(table).Skip(1).ToDictionary(cells => Backticked(cells[0])!, cells => cells[1], StringComparer.Ordinal);

        None(methods.Keys.Except(documented.Keys), $"methods of {path} missing from protocol.md");
        None(documented.Keys.Except(methods.Keys), $"methods of {path} in protocol.md that the hub does not have");
        foreach (var (name, method) in methods)
        {
            // Argument names are those of the C# method, in order; a CancellationToken is SignalR's, not an argument.
            var parameters = method.GetParameters().Where(p => p.ParameterType != typeof(CancellationToken)).Select(p => $"`{p.Name}`").ToList();
            var positions = parameters.Select(p => documented[name].IndexOf(p, StringComparison.Ordinal)).ToList();
            Assert.True(positions.All(i => i >= 0) && positions.SequenceEqual(positions.Order()),
                $"{path} {name}: protocol.md gives the arguments '{documented[name]}', the method takes {string.Join(", ", parameters)}");
        }
    }

    [Fact]
    public void EveryClientEventIsInProtocolMd()
    {
        var events = Rows(Section(Doc("protocol.md"), "## Hub reference")).Select(cells => Backticked(cells[0])).OfType<string>().ToHashSet(StringComparer.Ordinal);

        None(Constants(typeof(ClientEvents)).Except(events), "client events missing from protocol.md's hub reference");
    }

    // ---- HTTP routes (http-api.md) ----

    [Fact]
    public void EveryApiRouteIsInHttpApiMdWithItsRolesAndEveryDocumentedRouteIsMapped()
    {
        _ = server.BaseUrl;
        var mapped = new HashSet<string>(StringComparer.Ordinal);
        foreach (var endpoint in server.Get<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>())
        {
            var path = "/" + endpoint.RoutePattern.RawText!.TrimStart('/');
            if (!path.StartsWith("/api/", StringComparison.Ordinal)) continue;
            foreach (var method in endpoint.Metadata.GetMetadata<HttpMethodMetadata>()!.HttpMethods)
            {
                mapped.Add($"{method} {path}");
                // "Every route requires a bearer token ... with the role Admin or Publisher."
                Assert.Contains(endpoint.Metadata.GetOrderedMetadata<IAuthorizeData>(), a => a.Policy == Policies.Publisher);
            }
        }
        var documented = Rows(Section(Doc("http-api.md"), "## Routes"))
            .Select(cells => Backticked(cells[0])).OfType<string>()
            .Where(route => ApiRoute().IsMatch(route))
            .Select(route => route.Split('?')[0]).ToHashSet(StringComparer.Ordinal);

        Assert.True(mapped.Count >= 15, $"{mapped.Count} API routes found");
        None(mapped.Except(documented), "routes mapped but missing from http-api.md");
        None(documented.Except(mapped), "routes in http-api.md that are not mapped");
    }

    [GeneratedRegex("^(GET|POST|PUT|PATCH|DELETE) /api/")]
    private static partial Regex ApiRoute();

    // ---- Log event ids ----

    [Fact]
    public void TheLogEventsTheDocsNameHaveThatIdAndLevel()
    {
        var events = new[] { typeof(Program).Assembly, typeof(HistoryOptions).Assembly, typeof(RedisOptions).Assembly }
            .SelectMany(a => a.GetTypes())
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.DeclaredOnly))
            .Select(m => m.GetCustomAttribute<LoggerMessageAttribute>()).OfType<LoggerMessageAttribute>()
            .ToList();
        Assert.Equal(events.Count, events.Select(e => e.EventId).Distinct().Count()); // ids are unique

        var named = 0;
        foreach (var doc in new[] { "protocol.md", "scale-out.md", "architecture.md", "configuration.md", "security.md", "webhooks.md" })
        {
            // "a warning (event 1201)", "warning `3008`"
            foreach (Match match in NamedEvent().Matches(Doc(doc)))
            {
                named++;
                var id = int.Parse(match.Groups["id"].Value, System.Globalization.CultureInfo.InvariantCulture);
                var logged = events.SingleOrDefault(e => e.EventId == id);
                Assert.True(logged is not null, $"{doc} names event {id}, which the code does not log");
                Assert.True(string.Equals(match.Groups["level"].Value, logged.Level.ToString(), StringComparison.OrdinalIgnoreCase),
                    $"{doc} calls event {id} {match.Groups["level"].Value}; the code logs it at {logged.Level}");
            }
        }
        Assert.True(named >= 3, $"{named} events named in the docs");
    }

    [GeneratedRegex(@"\b(?<level>debug|information|warning|error) (?:\(event |`)(?<id>[0-9]{4})\b", RegexOptions.IgnoreCase)]
    private static partial Regex NamedEvent();
}
