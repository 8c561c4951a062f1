using Microsoft.Extensions.Options;
using Switchboard.Server.Hubs;

namespace Switchboard.Server.Hosting;

/// <summary>Start-up checks of <see cref="SignalRSettings"/>; each message names the setting.</summary>
internal sealed class SignalRSettingsValidator : IValidateOptions<SignalRSettings>
{
    public ValidateOptionsResult Validate(string? name, SignalRSettings o)
    {
        var failures = new List<string>();
        if (o.MaximumReceiveMessageSize is < 1024 or > 16 * 1024 * 1024)
            failures.Add("SignalR:MaximumReceiveMessageSize must be between 1024 and 16777216 bytes.");
        if (o.StreamBufferCapacity is < 1 or > 10_000)
            failures.Add("SignalR:StreamBufferCapacity must be between 1 and 10000.");
        if (o.MaximumParallelInvocationsPerClient is < 1 or > 1024)
            failures.Add("SignalR:MaximumParallelInvocationsPerClient must be between 1 and 1024.");
        if (o.KeepAliveInterval <= TimeSpan.Zero)
            failures.Add("SignalR:KeepAliveInterval must be positive.");
        if (o.ClientTimeoutInterval <= o.KeepAliveInterval)
            failures.Add("SignalR:ClientTimeoutInterval must be longer than SignalR:KeepAliveInterval (SignalR advises twice as long).");
        // SignalR arms the handshake timeout with CancelAfter, which throws beyond ~49 days: every
        // handshake would fail. Waiting more than a day for a handshake is not useful anyway.
        if (o.HandshakeTimeout <= TimeSpan.Zero || o.HandshakeTimeout > TimeSpan.FromDays(1))
            failures.Add("SignalR:HandshakeTimeout must be positive and at most 1.00:00:00.");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

/// <summary>Start-up checks of <see cref="SwitchboardOptions"/>; each message names the setting.</summary>
internal sealed class SwitchboardOptionsValidator : IValidateOptions<SwitchboardOptions>
{
    public ValidateOptionsResult Validate(string? name, SwitchboardOptions o)
    {
        var failures = new List<string>();
        if (o.MaxMessageLength is < 1 or > 1_000_000)
            failures.Add("Switchboard:MaxMessageLength must be between 1 and 1000000 characters.");
        foreach (var hub in o.AllowAnonymousHubs)
        {
            if (hub == SwitchboardHubs.SecureChatName)
                failures.Add("Switchboard:AllowAnonymousHubs cannot contain 'secure-chat': that hub always requires a signed-in user.");
            else if (!SwitchboardHubs.OpenableNames.Contains(hub))
                failures.Add($"Switchboard:AllowAnonymousHubs contains '{hub}', which is not a hub; use one of: {string.Join(", ", SwitchboardHubs.OpenableNames)}.");
        }
        var s = o.Streaming;
        // The pause is a Task.Delay, which throws beyond ~49 days: the stream would fail after its first round.
        if (s.PriceInterval < TimeSpan.FromMilliseconds(10) || s.PriceInterval > TimeSpan.FromDays(1))
            failures.Add("Switchboard:Streaming:PriceInterval must be between 00:00:00.010 and 1.00:00:00.");
        if (s.MaxSymbols is < 1 or > 1000)
            failures.Add("Switchboard:Streaming:MaxSymbols must be between 1 and 1000.");
        if (s.MaxCount < 1)
            failures.Add("Switchboard:Streaming:MaxCount must be at least 1.");
        if (s.MaxDelayMilliseconds < 0)
            failures.Add("Switchboard:Streaming:MaxDelayMilliseconds must not be negative.");
        if (o.Recovery.MaxMessages is < 1 or > 10_000)
            failures.Add("Switchboard:Recovery:MaxMessages must be between 1 and 10000.");
        if (o.Recovery.MaxCharacters < 1)
            failures.Add("Switchboard:Recovery:MaxCharacters must be at least 1.");
        if (o.Recovery.MaxHistory < 0 || o.Recovery.MaxHistory > o.Recovery.MaxMessages)
            failures.Add("Switchboard:Recovery:MaxHistory must be between 0 and Switchboard:Recovery:MaxMessages.");
        if (o.Limits.InvocationsPerSecond < 0)
            failures.Add("Switchboard:Limits:InvocationsPerSecond must not be negative (0 turns the limit off).");
        if (o.Limits.InvocationBurst < 1)
            failures.Add("Switchboard:Limits:InvocationBurst must be at least 1.");
        if (o.Limits.ViolationsBeforeClose < 1)
            failures.Add("Switchboard:Limits:ViolationsBeforeClose must be at least 1.");
        if (o.Limits.HttpRequestsPerSecond < 0)
            failures.Add("Switchboard:Limits:HttpRequestsPerSecond must not be negative (0 turns the limit off).");
        if (o.Limits.HttpBurst < 1)
            failures.Add("Switchboard:Limits:HttpBurst must be at least 1.");
        if (o.Limits.MaxConnectionsPerUser < 0)
            failures.Add("Switchboard:Limits:MaxConnectionsPerUser must not be negative (0 turns the limit off).");
        if (o.Limits.MaxGroupsPerConnection < 1)
            failures.Add("Switchboard:Limits:MaxGroupsPerConnection must be at least 1.");
        if (o.Limits.MaxRequestBodyBytes is < 1024 or > 16 * 1024 * 1024)
            failures.Add("Switchboard:Limits:MaxRequestBodyBytes must be between 1024 and 16777216.");
        if (o.Limits.MaxConnections is < 0)
            failures.Add("Switchboard:Limits:MaxConnections must be 0 (off), a positive number, or unset (the open-file limit minus headroom).");
        if (o.Limits.MaxOutboundQueueBytes != 0 && o.Limits.MaxOutboundQueueBytes is < 16 * 1024 or > 1024L * 1024 * 1024)
            failures.Add("Switchboard:Limits:MaxOutboundQueueBytes must be 0 (off) or between 16384 and 1073741824.");
        if (o.Upload.ProgressInterval < TimeSpan.Zero)
            failures.Add("Switchboard:Upload:ProgressInterval must not be negative.");
        ValidateWebhooks(o.Webhooks, failures);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void ValidateWebhooks(WebhookOptions w, List<string> failures)
    {
        if (!string.IsNullOrWhiteSpace(w.Url))
        {
            if (!Uri.TryCreate(w.Url, UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps))
                failures.Add("Switchboard:Webhooks:Url must be an absolute http or https URL.");
            // Secure by default: a receiver must be able to tell Switchboard's POSTs from anyone's.
            if (w.Secret is null || w.Secret.Length < Webhooks.WebhookSigner.MinSecretLength)
                failures.Add("Switchboard:Webhooks:Secret must be set, at least 32 characters, when Switchboard:Webhooks:Url is set.");
        }
        foreach (var name in w.Events)
        {
            if (!Webhooks.WebhookEventNames.All.Contains(name))
                failures.Add($"Switchboard:Webhooks:Events contains '{name}', which is not a webhook event; use one of: {string.Join(", ", Webhooks.WebhookEventNames.All)}.");
        }
        if (w.MaxBatchSize is < 1 or > 1000)
            failures.Add("Switchboard:Webhooks:MaxBatchSize must be between 1 and 1000.");
        if (w.MaxQueue is < 1 or > 1_000_000)
            failures.Add("Switchboard:Webhooks:MaxQueue must be between 1 and 1000000.");
        if (w.Timeout < TimeSpan.FromMilliseconds(100) || w.Timeout > TimeSpan.FromMinutes(5))
            failures.Add("Switchboard:Webhooks:Timeout must be between 00:00:00.100 and 00:05:00.");
        if (w.MaxAttempts is < 1 or > 100)
            failures.Add("Switchboard:Webhooks:MaxAttempts must be between 1 and 100.");
        if (w.RetryDelay < TimeSpan.FromMilliseconds(10) || w.RetryDelay > TimeSpan.FromMinutes(1))
            failures.Add("Switchboard:Webhooks:RetryDelay must be between 00:00:00.010 and 00:01:00.");
    }
}
