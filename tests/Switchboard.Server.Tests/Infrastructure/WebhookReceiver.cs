using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Switchboard.Server.Tests.Infrastructure;

/// <summary>One webhook event as a backend reads it (<see cref="Seq"/> is left out of equality: see <see cref="WebhookReceiver.Sequenced"/>).</summary>
public sealed record ReceivedEvent(string Name, string Group, string? UserId = null, string? UserName = null)
{
    /// <summary>The event's <c>seq</c>; null when the body had none.</summary>
    public long? Seq { get; init; }

    public bool Equals(ReceivedEvent? other) =>
        other is not null && (Name, Group, UserId, UserName) == (other.Name, other.Group, other.UserId, other.UserName);

    public override int GetHashCode() => HashCode.Combine(Name, Group, UserId, UserName);
}

/// <summary>One POST as it arrived, with the status it was answered.</summary>
public sealed record WebhookRequest(byte[] Body, string? Signature, string? Timestamp, string? Delivery, string? ContentType, int Status);

/// <summary>
/// A backend receiving Switchboard's webhooks: a real Kestrel on 127.0.0.1 on a free port that
/// records every POST, answers with the statuses given (then 200; <see cref="NoAnswer"/> answers
/// nothing until the sender gives up the request), and, as a backend must, verifies each
/// signature with the secret before it believes the events. <see cref="Stall"/> holds every
/// answer until <see cref="Release"/>.
/// </summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    public const string Secret = "webhook-tests-secret-0123456789abcdefghij";

    /// <summary>A "status" that answers nothing: the request waits until the sender aborts it (or the receiver stops).</summary>
    public const int NoAnswer = 0;

    private volatile TaskCompletionSource _open = Completed();

    private readonly WebApplication _app;
    private readonly ConcurrentQueue<int> _statuses;
    private readonly Channel<ReceivedEvent> _accepted = Channel.CreateUnbounded<ReceivedEvent>();

    private WebhookReceiver(int[] statuses)
    {
        _statuses = new ConcurrentQueue<int>(statuses);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(options => options.Listen(IPAddress.Loopback, 0));
        _app = builder.Build();
        _app.MapPost("/hook", async context =>
        {
            using var buffer = new MemoryStream();
            await context.Request.Body.CopyToAsync(buffer);
            var status = _statuses.TryDequeue(out var next) ? next : 200;
            var request = new WebhookRequest(buffer.ToArray(), context.Request.Headers["X-Switchboard-Signature"],
                context.Request.Headers["X-Switchboard-Timestamp"], context.Request.Headers["X-Switchboard-Delivery"],
                context.Request.ContentType, status);
            Requests.Enqueue(request);
            using var gone = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, _app.Lifetime.ApplicationStopping);
            try
            {
                if (status == NoAnswer)
                {
                    // No answer: wait for the sender to give the request up (or the receiver to stop).
                    await new TaskCompletionSource().Task.WaitAsync(gone.Token);
                }
                await _open.Task.WaitAsync(gone.Token);
            }
            catch (OperationCanceledException)
            {
                return; // the sender gave up this request: nothing is accepted
            }
            if (status is >= 200 and < 300 && Verified(request))
            {
                foreach (var e in Events(request.Body)) _accepted.Writer.TryWrite(e);
            }
            context.Response.StatusCode = status;
        });
    }

    private static TaskCompletionSource Completed()
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        done.SetResult();
        return done;
    }

    /// <summary>From now on, POSTs are received (and in <see cref="Requests"/>) but not answered until <see cref="Release"/>.</summary>
    public void Stall() => _open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Answers the stalled POSTs, and those after, again.</summary>
    public void Release() => _open.TrySetResult();

    /// <summary>Every POST, in the order it arrived.</summary>
    public ConcurrentQueue<WebhookRequest> Requests { get; } = new();

    /// <summary>POSTs whose signature did not verify (none, if Switchboard signs right).</summary>
    public int Unverified { get; private set; }

    public string Url { get; private set; } = "";

    public static async Task<WebhookReceiver> StartAsync(params int[] statuses)
    {
        var receiver = new WebhookReceiver(statuses);
        await receiver._app.StartAsync().DefaultTimeout();
        var address = receiver._app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        receiver.Url = address.TrimEnd('/') + "/hook";
        return receiver;
    }

    /// <summary>How a backend checks a POST: the HMAC-SHA256 of the exact body with the secret, compared in constant time.</summary>
    public static bool Verify(byte[] body, string? signature, string secret = Secret)
    {
        var expected = "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body));
        return signature is not null && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(expected), Encoding.ASCII.GetBytes(signature));
    }

    private bool Verified(WebhookRequest request)
    {
        if (Verify(request.Body, request.Signature)) return true;
        Unverified++;
        return false;
    }

    public static List<ReceivedEvent> Events(byte[] body)
    {
        using var json = JsonDocument.Parse(body);
        return [.. json.RootElement.GetProperty("events").EnumerateArray().Select(e => new ReceivedEvent(
            e.GetProperty("name").GetString()!, e.GetProperty("group").GetString()!,
            e.TryGetProperty("user_id", out var user) ? user.GetString() : null,
            e.TryGetProperty("user_name", out var name) ? name.GetString() : null)
        {
            Seq = e.TryGetProperty("seq", out var seq) ? seq.GetInt64() : null,
        })];
    }

    /// <summary>The next event of an accepted, verified POST, waiting at most <see cref="TestTimeouts.Network"/>.</summary>
    public async Task<ReceivedEvent> NextAsync()
    {
        using var cts = new CancellationTokenSource(TestTimeouts.Network);
        try
        {
            return await _accepted.Reader.ReadAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"No webhook event arrived within {TestTimeouts.Network}.");
        }
    }

    /// <summary>The next <paramref name="count"/> events.</summary>
    public async Task<List<ReceivedEvent>> NextAsync(int count)
    {
        var list = new List<ReceivedEvent>();
        for (var i = 0; i < count; i++) list.Add(await NextAsync());
        return list;
    }

    /// <summary>
    /// How a backend puts events that arrived out of order back in the order the presence store
    /// made them (docs/webhooks.md): by <c>seq</c> within each group, the events of one transition
    /// (equal seq) in the order they were sent.
    /// </summary>
    public static List<ReceivedEvent> Sequenced(IEnumerable<ReceivedEvent> events) =>
        [.. events.Select((e, i) => (e, i)).OrderBy(x => x.e.Group, StringComparer.Ordinal)
            .ThenBy(x => x.e.Seq ?? throw new InvalidOperationException($"{x.e.Name} of {x.e.Group} has no seq."))
            .ThenBy(x => x.i).Select(x => x.e)];

    /// <summary>Events accepted and not yet read, without waiting.</summary>
    public List<ReceivedEvent> Drain()
    {
        var list = new List<ReceivedEvent>();
        while (_accepted.Reader.TryRead(out var e)) list.Add(e);
        return list;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().DefaultTimeout();
        await _app.DisposeAsync();
    }
}
