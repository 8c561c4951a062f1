using System.Text.RegularExpressions;
using Microsoft.AspNetCore.SignalR.Protocol;

namespace Switchboard.Server.Hosting;

/// <summary>
/// Keeps access tokens out of every log line. ASP.NET Core's hosting diagnostics log each
/// request URL with its query string ("Request starting ... ?access_token=eyJ..."), before any
/// middleware could strip it, and SignalR clients must put the token there for WebSockets and
/// Server-Sent Events. So the redaction sits in the logger factory itself: every logger it
/// creates checks the string values of a log entry and, when one holds a token, replaces the
/// entry with a redacted copy. Entries without a token pass through untouched. Hub messages that
/// SignalR's debug logs print whole (arguments and results: message bodies) are cut down to their
/// kind, id and target the same way.
/// </summary>
public static partial class LogRedaction
{
    public const string Replacement = "[redacted]";

    public static WebApplicationBuilder AddTokenRedaction(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        for (var i = services.Count - 1; i >= 0; i--)
        {
            if (services[i].ServiceType == typeof(ILoggerFactory))
            {
                services.RemoveAt(i);
            }
        }
        services.AddSingleton<ILoggerFactory>(sp => new RedactingLoggerFactory(new LoggerFactory(
            sp.GetServices<ILoggerProvider>(),
            sp.GetRequiredService<Microsoft.Extensions.Options.IOptionsMonitor<LoggerFilterOptions>>(),
            sp.GetService<Microsoft.Extensions.Options.IOptions<LoggerFactoryOptions>>(),
            sp.GetService<IExternalScopeProvider>())));
        return builder;
    }

    /// <summary>True when <paramref name="text"/> may hold a token worth redacting (cheap pre-check).</summary>
    public static bool MayHoldSecret(string text) =>
        text.Contains("access_token", StringComparison.OrdinalIgnoreCase) ||
        text.Contains("eyJ", StringComparison.Ordinal) ||
        text.Contains("Bearer ", StringComparison.OrdinalIgnoreCase);

    /// <summary>Replaces query-string tokens, bearer credentials and anything shaped like a JWT.</summary>
    public static string Redact(string text) =>
        MayHoldSecret(text) ? SecretPattern().Replace(text, m => m.Groups["keep"].Value + Replacement) : text;

    [GeneratedRegex(@"(?<keep>access_token=)[^&\s""']*|(?<keep>Bearer\s+)[A-Za-z0-9\-_.~+/=]+|eyJ[A-Za-z0-9_\-]*\.[A-Za-z0-9_\-]*\.?[A-Za-z0-9_\-]*",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex SecretPattern();

    private sealed class RedactingLoggerFactory(ILoggerFactory inner) : ILoggerFactory
    {
        public ILogger CreateLogger(string categoryName) => new RedactingLogger(inner.CreateLogger(categoryName));
        public void AddProvider(ILoggerProvider provider) => inner.AddProvider(provider);
        public void Dispose() => inner.Dispose();
    }

    private sealed class RedactingLogger(ILogger inner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => inner.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(logLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception,
            Func<TState, Exception?, string> formatter)
        {
            if (!inner.IsEnabled(logLevel))
            {
                return;
            }
            if (!HoldsSecret(state))
            {
                inner.Log(logLevel, eventId, state, exception, formatter);
                return;
            }
            var redacted = new RedactedState(Redact(WithoutBodies(formatter(state, exception), state)), RedactValues(state));
            inner.Log(logLevel, eventId, redacted, exception, static (s, _) => s.Message);
        }

        private static bool HoldsSecret<TState>(TState state)
        {
            if (state is IReadOnlyList<KeyValuePair<string, object?>> values)
            {
                for (var i = 0; i < values.Count; i++)
                {
                    if (values[i].Value is HubMessage || AsText(values[i].Value) is { } text && MayHoldSecret(text))
                    {
                        return true;
                    }
                }
                return false;
            }
            return state is not null && AsText(state) is { } own && MayHoldSecret(own);
        }

        private static List<KeyValuePair<string, object?>> RedactValues<TState>(TState state)
        {
            var result = new List<KeyValuePair<string, object?>>();
            if (state is IReadOnlyList<KeyValuePair<string, object?>> values)
            {
                foreach (var (key, value) in values)
                {
                    result.Add(new(key, value is HubMessage message ? Describe(message) : AsText(value) is { } text ? Redact(text) : value));
                }
            }
            return result;
        }

        /// <summary>
        /// SignalR's debug and trace logs print whole hub messages, arguments and results
        /// included ("Received hub invocation: InvocationMessage { ... Arguments: [ ... ] }"):
        /// message bodies. Each is replaced by its kind, id and target.
        /// </summary>
        private static string WithoutBodies<TState>(string formatted, TState state)
        {
            if (state is IReadOnlyList<KeyValuePair<string, object?>> values)
            {
                foreach (var (_, value) in values)
                {
                    if (value is HubMessage message)
                    {
                        formatted = formatted.Replace(message.ToString() ?? "", Describe(message), StringComparison.Ordinal);
                    }
                }
            }
            return formatted;
        }

        private static string Describe(HubMessage message) => message switch
        {
            HubMethodInvocationMessage m => $"{m.GetType().Name} {{ InvocationId: \"{m.InvocationId}\", Target: \"{m.Target}\", Arguments: {Replacement} }}",
            HubInvocationMessage m => $"{m.GetType().Name} {{ InvocationId: \"{m.InvocationId}\", {Replacement} }}",
            _ => message.GetType().Name,
        };

        private static string? AsText(object? value) => value switch
        {
            string s => s,
            QueryString q => q.Value,
            PathString p => p.Value,
            Uri u => u.OriginalString,
            _ => null,
        };
    }

    private sealed class RedactedState(string message, List<KeyValuePair<string, object?>> values)
        : IReadOnlyList<KeyValuePair<string, object?>>
    {
        public string Message { get; } = message;
        public KeyValuePair<string, object?> this[int index] => values[index];
        public int Count => values.Count;
        public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() => values.GetEnumerator();
        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
        public override string ToString() => Message;
    }
}
