using Microsoft.Extensions.Logging;
using Switchboard.Server.Tests.GuideSnippets;
using Switchboard.Server.Tests.Infrastructure;

namespace Switchboard.Server.Tests;

/// <summary>The guide's own .NET client, unchanged but for the URL and the token source, runs against Switchboard.</summary>
public sealed class GuideDotNetClientTests(SwitchboardFactory server) : IClassFixture<SwitchboardFactory>
{
    [Fact]
    public async Task TheGuidesSignalRClientConnectsJoinsSendsAndReceives()
    {
        SignalRClient.Token = server.Token("john", "John");
        using var cts = new CancellationTokenSource(TestTimeouts.Network);
        // The guide's StartAsync logs an error and waits 5 s before it retries a failed start; here
        // the error ends the wait at once, so a failed start fails the test instead of sleeping.
        await using var client = new SignalRClient(server.BaseUrl + "/hubs/chat", new StartFailure(cts));
        var received = new TaskCompletionSource<(string, string)>(TaskCreationOptions.RunContinuationsAsynchronously);
        client.MessageReceived += (user, message) => received.TrySetResult((user, message));

        await client.StartAsync(cts.Token).DefaultTimeout();
        await client.JoinGroupAsync("general").DefaultTimeout();
        await client.SendMessageAsync("John", "Hello everyone!").DefaultTimeout();

        Assert.Equal(("John", "Hello everyone!"), await received.Task.DefaultTimeout());
    }

    /// <summary>The guide client's logger: an error (its failed start) cancels the start's token, so its retry wait ends at once.</summary>
    private sealed class StartFailure(CancellationTokenSource start) : ILogger<SignalRClient>
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Error;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel >= LogLevel.Error)
            {
                start.Cancel();
            }
        }
    }
}
