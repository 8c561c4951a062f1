using Microsoft.Extensions.Logging.Abstractions;
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
        await using var client = new SignalRClient(server.BaseUrl + "/hubs/chat", NullLogger<SignalRClient>.Instance);
        var received = new TaskCompletionSource<(string, string)>(TaskCreationOptions.RunContinuationsAsynchronously);
        client.MessageReceived += (user, message) => received.TrySetResult((user, message));
        using var cts = new CancellationTokenSource(TestTimeouts.Network);

        await client.StartAsync(cts.Token).DefaultTimeout();
        await client.JoinGroupAsync("general").DefaultTimeout();
        await client.SendMessageAsync("John", "Hello everyone!").DefaultTimeout();

        Assert.Equal(("John", "Hello everyone!"), await received.Task.DefaultTimeout());
    }
}
