using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;
using Switchboard.Server.Tests.Infrastructure;

namespace Switchboard.Server.Tests;

public sealed class OptionsTests(SwitchboardFactory server) : IClassFixture<SwitchboardFactory>
{
    [Fact]
    public void HubOptionsDefaultToTheGuidesValues()
    {
        var hub = server.Get<IOptions<HubOptions>>().Value;

        Assert.False(hub.EnableDetailedErrors); // only in Development
        Assert.Equal(32 * 1024, hub.MaximumReceiveMessageSize);
        Assert.Equal(10, hub.StreamBufferCapacity);
        Assert.Equal(1, hub.MaximumParallelInvocationsPerClient);
        Assert.Equal(TimeSpan.FromSeconds(15), hub.KeepAliveInterval);
        Assert.Equal(TimeSpan.FromSeconds(30), hub.ClientTimeoutInterval);
        Assert.Equal(TimeSpan.FromSeconds(15), hub.HandshakeTimeout);
        Assert.Contains("json", hub.SupportedProtocols!);
        Assert.Contains("messagepack", hub.SupportedProtocols!);
    }

    [Fact]
    public async Task HubOptionsAreBoundFromConfiguration()
    {
        await using var custom = new SwitchboardFactory(new Dictionary<string, string?>
        {
            ["SignalR:MaximumReceiveMessageSize"] = "65536",
            ["SignalR:StreamBufferCapacity"] = "20",
            ["SignalR:KeepAliveInterval"] = "00:00:05",
            ["SignalR:ClientTimeoutInterval"] = "00:00:12",
            ["SignalR:EnableDetailedErrors"] = "true",
            ["SignalR:MaximumParallelInvocationsPerClient"] = "8",
        });
        _ = custom.BaseUrl;
        var hub = custom.Get<IOptions<HubOptions>>().Value;

        Assert.Equal(8, hub.MaximumParallelInvocationsPerClient);

        Assert.Equal((65536L, 20, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(12), true),
            (hub.MaximumReceiveMessageSize!.Value, hub.StreamBufferCapacity!.Value, hub.KeepAliveInterval!.Value, hub.ClientTimeoutInterval!.Value, hub.EnableDetailedErrors!.Value));
    }

    [Theory]
    [InlineData("SignalR__ClientTimeoutInterval", "00:00:10", "SignalR:ClientTimeoutInterval must be longer than SignalR:KeepAliveInterval")]
    [InlineData("SignalR__MaximumReceiveMessageSize", "10", "SignalR:MaximumReceiveMessageSize must be between")]
    [InlineData("SignalR__MaximumParallelInvocationsPerClient", "0", "SignalR:MaximumParallelInvocationsPerClient must be between 1 and 1024")]
    [InlineData("Switchboard__AllowAnonymousHubs__0", "secure-chat", "Switchboard:AllowAnonymousHubs cannot contain 'secure-chat'")]
    [InlineData("Switchboard__AllowAnonymousHubs__0", "nope", "Switchboard:AllowAnonymousHubs contains 'nope'")]
    [InlineData("Switchboard__History__MaxMessagesPerGroup", "0", "Switchboard:History:MaxMessagesPerGroup must be at least 1")]
    // Accepted once, though past ~49 days SignalR's handshake timer throws (every connection failed)
    // and so does the price stream's pause (the stream failed after its first round).
    [InlineData("SignalR__HandshakeTimeout", "60.00:00:00", "SignalR:HandshakeTimeout must be positive and at most 1.00:00:00.")]
    [InlineData("Switchboard__Streaming__PriceInterval", "60.00:00:00", "Switchboard:Streaming:PriceInterval must be between 00:00:00.010 and 1.00:00:00.")]
    // Webhooks are secure by default: a URL without a secret (or with a short one) refuses start-up.
    [InlineData("Switchboard__Webhooks__Url", "http://127.0.0.1:9/hook", "Switchboard:Webhooks:Secret must be set, at least 32 characters, when Switchboard:Webhooks:Url is set.")]
    [InlineData("Switchboard__Webhooks__Url", "ftp://127.0.0.1/hook", "Switchboard:Webhooks:Url must be an absolute http or https URL.")]
    [InlineData("Switchboard__Webhooks__Events__0", "channel_existence", "Switchboard:Webhooks:Events contains 'channel_existence', which is not a webhook event; use one of: member_added, member_removed, channel_occupied, channel_vacated.")]
    // Accepted once, though the expiry of a token made with it overflowed the calendar.
    [InlineData("Jwt__TokenLifetime", "10000000.00:00:00", "Jwt:TokenLifetime must be positive and at most 366.00:00:00.")]
    public async Task InvalidSettingsStopStartUpWithAMessageNamingTheSetting(string key, string value, string message)
    {
        var output = await AuthenticationTests.RunServerProcessAsync(["--urls", "http://127.0.0.1:0"], new()
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Testing",
            ["Jwt__Key"] = SwitchboardFactory.TestKey,
            [key] = value,
        });

        Assert.Equal(1, output.ExitCode);
        Assert.Contains("Switchboard cannot start; fix these settings:", output.StdErr);
        Assert.Contains(message, output.StdErr);
    }

    [Fact]
    public async Task EveryInvalidSectionIsReportedAtOnce()
    {
        var output = await AuthenticationTests.RunServerProcessAsync(["--urls", "http://127.0.0.1:0"], new()
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["SignalR__StreamBufferCapacity"] = "0",
            ["Switchboard__MaxMessageLength"] = "0",
        });

        Assert.Equal(1, output.ExitCode);
        Assert.Contains("Jwt:Key is not set", output.StdErr);
        Assert.Contains("SignalR:StreamBufferCapacity must be between", output.StdErr);
        Assert.Contains("Switchboard:MaxMessageLength must be between", output.StdErr);
    }

    [Fact]
    public async Task AValueThatCannotBeConvertedIsReportedWithEveryOtherFailure()
    {
        var output = await AuthenticationTests.RunServerProcessAsync(["--urls", "http://127.0.0.1:0"], new()
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Testing",
            ["Jwt__Key"] = SwitchboardFactory.TestKey,
            ["SignalR__KeepAliveInterval"] = "fast",
            ["Switchboard__MaxMessageLength"] = "0",
            ["Switchboard__History__Durability"] = "Sometimes",
        });

        Assert.Equal(1, output.ExitCode);
        Assert.Contains("Switchboard cannot start; fix these settings:", output.StdErr);
        Assert.Contains("  - Failed to convert configuration value 'fast' at 'SignalR:KeepAliveInterval' to type 'System.TimeSpan'.", output.StdErr);
        Assert.Contains("Switchboard:MaxMessageLength must be between", output.StdErr);
        Assert.Contains("Failed to convert configuration value 'Sometimes' at 'Switchboard:History:Durability'", output.StdErr);
        Assert.DoesNotContain("Unhandled exception", output.StdErr);
    }

    [Fact]
    public async Task ARedisSettingThatCannotBeConvertedIsReportedLikeAnyOther()
    {
        // Nothing listens on port 1: the server must refuse its settings before it tries Redis.
        var output = await AuthenticationTests.RunServerProcessAsync(["--urls", "http://127.0.0.1:0"], new()
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Testing",
            ["Jwt__Key"] = SwitchboardFactory.TestKey,
            ["ConnectionStrings__Redis"] = "127.0.0.1:1",
            ["Switchboard__Redis__HeartbeatInterval"] = "fast",
        });

        Assert.Equal(1, output.ExitCode);
        Assert.Contains("Switchboard cannot start; fix these settings:", output.StdErr);
        Assert.Contains("Failed to convert configuration value 'fast' at 'Switchboard:Redis:HeartbeatInterval'", output.StdErr);
        Assert.DoesNotContain("Unhandled exception", output.StdErr);
    }
}
