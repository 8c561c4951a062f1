using System.Runtime.ExceptionServices;
using System.Threading.Channels;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Contracts;

namespace Switchboard.Client;

/// <summary>
/// A client of Switchboard's chat hub that does not lose group messages across reconnects.
/// <list type="bullet">
/// <item><see cref="SubscribeAsync"/> subscribes to a group's envelopes; every message reaches
/// <see cref="MessageReceived"/> once, in offset order per group.</item>
/// <item>When the connection drops, the client reconnects on its own, subscribes to its groups
/// again from the last offset it delivered, and delivers what it missed before anything newer.</item>
/// <item>A message that arrives with an offset beyond the next one (a live message was lost)
/// makes the client fetch the gap from history first. When that fetch fails while the
/// connection stays up (for example <c>rate_limited</c>), the message and any that arrive after
/// it wait, and the fetch is tried again after <see cref="SwitchboardClientOptions.GapFillRetryDelays"/>
/// until it succeeds, the group is unsubscribed, the client is disposed, or a reconnect's (or a
/// later start's) resubscribe takes over; then they are delivered, in order. A refusal that cannot change
/// (<c>permission_denied</c>, <c>position_invalid</c>, <c>group_name_invalid</c>,
/// <c>group_name_reserved</c>) raises <see cref="SubscriptionLost"/> instead. So does more than
/// <see cref="SwitchboardClientOptions.MaxWaiting"/> messages of the group waiting (here or during a
/// reconnect's resubscribe): the client gives the group up rather than hold them without bound.</item>
/// <item>When the gap cannot be filled (the history's epoch changed, or the missed messages
/// were trimmed), <see cref="RecoveryFailed"/> says so; the client continues from the group's
/// current position and the application should reload what it shows. When retention trimmed
/// only the start of a gap the client fills from history, it delivers the part still retained
/// after the event.</item>
/// <item>After a reconnect the client subscribes its groups again one at a time, each
/// <c>Subscribe</c> followed by the history pages its answer says are missing. When one of those
/// calls fails while connected for a reason that can pass (<c>rate_limited</c>, because many
/// groups' calls exceed the connection's invocation burst; <c>unavailable</c>; a server error),
/// the walk pauses for the next of <see cref="SwitchboardClientOptions.GapFillRetryDelays"/> and
/// tries that group again from what it has delivered; its live envelopes, and the groups after it,
/// wait. <see cref="Resubscribed"/> is raised once every group is settled.</item>
/// <item>When the server refuses a group after a reconnect for good (<c>too_many_groups</c>,
/// because the user was added to groups meanwhile; <c>permission_denied</c>,
/// <c>position_invalid</c>, <c>group_name_invalid</c>, <c>group_name_reserved</c>), or refuses a
/// gap's fetch for good, <see cref="SubscriptionLost"/> says so; the client stops following that
/// group and goes on with the others.</item>
/// <item>The groups stay followed when the connection closes for good (reconnecting gave up, the
/// server closed it, or <see cref="StopAsync"/>): the next <see cref="StartAsync"/> subscribes them
/// again from their last (offset, epoch) the same way as after a reconnect, so what was published
/// meanwhile is delivered in order, each once, before anything newer (or
/// <see cref="RecoveryFailed"/> says it cannot be). <see cref="UnsubscribeAsync"/> ends a group,
/// connected or not; <see cref="DisposeAsync"/> ends them all.</item>
/// </list>
/// All events are raised on one background task, one at a time.
/// </summary>
public sealed class SwitchboardClient : IAsyncDisposable
{
    private readonly SwitchboardClientOptions _options;
    private readonly Dictionary<string, GroupState> _groups = new(StringComparer.Ordinal);
    private readonly Channel<Func<Task>> _work = Channel.CreateUnbounded<Func<Task>>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _worker;
    private readonly CancellationTokenSource _disposing = new();

    /// <summary>Codes with which the server refuses a history page for good: the same request would be refused again.</summary>
    private static readonly HashSet<string> FinalRefusals = new(StringComparer.Ordinal)
    {
        ErrorCodes.PermissionDenied, ErrorCodes.PositionInvalid, ErrorCodes.GroupNameInvalid, ErrorCodes.GroupNameReserved,
    };

    /// <summary>Codes with which the server refuses a resubscribe's <c>Subscribe</c> or page for good: the history ones, and <c>too_many_groups</c>.</summary>
    private static readonly HashSet<string> FinalResubscribeRefusals = new(FinalRefusals, StringComparer.Ordinal) { ErrorCodes.TooManyGroups };

    /// <summary>Which reconnect's resubscribe is the current one; a newer reconnect, the connection dropping, or StopAsync supersedes it.</summary>
    private int _round;

    /// <summary>The current resubscribe's groups not settled yet, in the order they are walked; the first is the one being tried.</summary>
    private readonly Queue<(string Group, GroupState State)> _unsettled = new();

    /// <summary>Transient refusals in a row during the current resubscribe, which pick its next delay.</summary>
    private int _resubscribeFailures;

    public SwitchboardClient(SwitchboardClientOptions options)
    {
        if (options.GapFillRetryDelays.Count == 0 || options.GapFillRetryDelays.Any(d => d < TimeSpan.Zero))
        {
            throw new ArgumentException("GapFillRetryDelays needs at least one delay, none negative.", nameof(options));
        }
        if (options.MaxWaiting < 1)
        {
            throw new ArgumentException("MaxWaiting must be at least 1.", nameof(options));
        }
        _options = options;
        var builder = new HubConnectionBuilder()
            .WithUrl(options.Url, http =>
            {
                http.SkipNegotiation = options.SkipNegotiation;
                http.Transports = options.SkipNegotiation ? Microsoft.AspNetCore.Http.Connections.HttpTransportType.WebSockets : options.Transports;
                if (options.AccessTokenProvider is { } tokens) http.AccessTokenProvider = tokens;
            })
            .WithAutomaticReconnect(new RetryPolicy(options.ReconnectDelays, options.ReconnectFor));
        if (options.UseMessagePack)
        {
            builder.AddMessagePackProtocol();
        }
        Connection = builder.Build();
        Connection.On<GroupEnvelope>(ClientEvents.ReceiveGroupMessage, envelope => Enqueue(() => OnEnvelopeAsync(envelope)));
        Connection.On<PresenceEvent>(ClientEvents.PresenceJoined, e => Enqueue(() => Raise(PresenceJoined, e)));
        Connection.On<PresenceEvent>(ClientEvents.PresenceLeft, e => Enqueue(() => Raise(PresenceLeft, e)));
        Connection.On<string, string>(ClientEvents.ReceiveMessage, (user, message) => Enqueue(() => { ChatMessageReceived?.Invoke(user, message); return Task.CompletedTask; }));
        Connection.Reconnecting += error =>
        {
            Enqueue(() =>
            {
                AbandonResubscribe(); // the next Reconnected starts over
                Reconnecting?.Invoke(error);
                return Task.CompletedTask;
            });
            return Task.CompletedTask;
        };
        Connection.Reconnected += _ => { Enqueue(() => ResubscribeAllAsync()); return Task.CompletedTask; };
        Connection.Closed += error => { Enqueue(() => { Closed?.Invoke(error); return Task.CompletedTask; }); return Task.CompletedTask; };
        _worker = Task.Run(RunAsync);
    }

    /// <summary>The underlying SignalR connection, for anything this class does not wrap.</summary>
    public HubConnection Connection { get; }

    /// <summary>A group message, exactly once and in offset order per group.</summary>
    public event Action<GroupEnvelope>? MessageReceived;

    /// <summary>
    /// Missed messages of a group could not be recovered. After a reconnect (the server answered
    /// <c>recovered: false</c>) or a new epoch, the client continues from the group's current
    /// position. When history paging finds that retention trimmed the start of a gap (a live gap,
    /// or the pages after a recovery answer), the messages after
    /// <see cref="RecoveryFailure.LastOffset"/> and before the first one still retained are lost,
    /// and the retained rest is delivered next, in order.
    /// </summary>
    public event Action<RecoveryFailure>? RecoveryFailed;

    /// <summary>The guide's <c>ReceiveMessage(user, message)</c>: broadcasts and groups joined with <c>JoinGroup</c>.</summary>
    public event Action<string, string>? ChatMessageReceived;

    public event Action<PresenceEvent>? PresenceJoined;
    public event Action<PresenceEvent>? PresenceLeft;
    public event Action<Exception?>? Reconnecting;

    /// <summary>
    /// Raised once per reconnect, and once per <see cref="StartAsync"/> that found groups followed
    /// on an earlier connection, when every group followed at the reconnect (or start) is settled: subscribed
    /// again, with what it missed up to the <c>Subscribe</c> answer (all its pages) delivered and
    /// then what waited for it; or lost (<see cref="SubscriptionLost"/> was raised first); or
    /// unsubscribed meanwhile. Calls refused for a reason that can pass were retried first (see
    /// <see cref="SwitchboardClientOptions.GapFillRetryDelays"/>), so it may come seconds after the
    /// reconnect. Not raised when the connection drops again, is stopped, or the client is disposed
    /// before then (the next reconnect or start starts over and raises its own). A live gap found after a
    /// group's answer whose fetch fails does not hold it up: that gap is retried on its own.
    /// </summary>
    public event Action? Resubscribed;

    /// <summary>
    /// The server refused a group with a code that will not change: after a reconnect its
    /// <c>Subscribe</c> or a page of what it missed (<c>too_many_groups</c>, <c>permission_denied</c>,
    /// <c>position_invalid</c>, <c>group_name_invalid</c>, <c>group_name_reserved</c>), or, while
    /// connected, a gap's page (the same but <c>too_many_groups</c>). Other failures (for example
    /// <c>rate_limited</c>, <c>unavailable</c>, a server error) are retried, see
    /// <see cref="SwitchboardClientOptions.GapFillRetryDelays"/>. The client no longer follows the
    /// group, and what was waiting for it is not delivered; the loss carries the last position
    /// delivered. Call <see cref="SubscribeAsync"/> to follow it again.
    /// Also raised, with an <see cref="InvalidOperationException"/> saying so, when more than
    /// <see cref="SwitchboardClientOptions.MaxWaiting"/> messages of the group waited (behind a gap
    /// whose fetch is being retried, or for a reconnect's resubscribe to settle the group): the
    /// client gives the group up the same way, and its pending retry is not made.
    /// </summary>
    public event Action<SubscriptionLoss>? SubscriptionLost;

    /// <summary>
    /// A live message arrived beyond the next offset (a message was lost on the way, or another
    /// server process published in between) and the client fetched the missing offsets
    /// (first, last) from history before delivering it. Informational: delivery stays exactly once, in order.
    /// If retention had trimmed the start of that range, <see cref="RecoveryFailed"/> was raised
    /// first and only the part still retained was delivered. When a fetch failed and was tried
    /// again, first is where the successful try started.
    /// </summary>
    public event Action<string, long, long>? GapFilled;

    /// <summary>
    /// The connection is closed for good (stopped, closed by the server, or reconnecting gave up).
    /// The client still follows its groups: <see cref="StartAsync"/> subscribes them again.
    /// </summary>
    public event Action<Exception?>? Closed;

    /// <summary>
    /// Starts the connection. When the client follows groups from an earlier connection (it closed
    /// for good: reconnecting gave up, the server closed it, or <see cref="StopAsync"/>), it then
    /// subscribes them again, one at a time, from the last (offset, epoch) it delivered, exactly as
    /// after a reconnect: what each missed is delivered first, in order and each once, then what
    /// arrived live meanwhile; a group that cannot be recovered raises <see cref="RecoveryFailed"/>
    /// and continues from its current position; calls refused for a reason that can pass are tried
    /// again after <see cref="SwitchboardClientOptions.GapFillRetryDelays"/>; a refusal for good
    /// raises <see cref="SubscriptionLost"/>; <see cref="Resubscribed"/> is raised once every group
    /// is settled. Completes when the connection is started; that resubscribe goes on in the
    /// background (its events are raised like all others).
    /// </summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        await Connection.StartAsync(cancellationToken);
        Interlocked.Increment(ref _round); // a resubscribe paused on an earlier connection must not resume on this one
        _ = Enqueue(() => ResubscribeAllAsync(afterStart: true));
    }

    /// <summary>
    /// Stops the connection; a resubscribe under way, or a gap's fetch, is not tried again. The
    /// client keeps following its groups (as Centrifugo's clients keep their subscriptions): a
    /// later <see cref="StartAsync"/> subscribes them again from where they were. To end a group,
    /// call <see cref="UnsubscribeAsync"/> (also while stopped); to end them all,
    /// <see cref="DisposeAsync"/>.
    /// </summary>
    public Task StopAsync(CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _round); // a paused resubscribe must not resume on a later StartAsync's connection
        return Connection.StopAsync(cancellationToken);
    }

    /// <summary>
    /// Subscribes to <paramref name="group"/>: envelopes from now on, and first its last
    /// <paramref name="history"/> messages. Completes when those were delivered.
    /// </summary>
    public async Task<SubscribeResult> SubscribeAsync(string group, int history = 0, bool presence = false, CancellationToken cancellationToken = default)
    {
        var done = new TaskCompletionSource<SubscribeResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        var state = new GroupState(presence);
        await Enqueue(() =>
        {
            lock (_groups) _groups[group] = state;
            return Task.CompletedTask;
        });
        SubscribeResult result;
        try
        {
            result = await Connection.InvokeAsync<SubscribeResult>(HubMethods.Subscribe, group,
                new SubscribeRequest { History = history, Presence = presence }, cancellationToken);
        }
        catch (Exception)
        {
            // Not subscribed: a reconnect must not try this group again (a refused name would be
            // refused again, and stop the groups after it from being resubscribed).
            await Enqueue(() =>
            {
                Forget(group, state);
                return Task.CompletedTask;
            });
            throw;
        }
        await Enqueue(async () =>
        {
            // Only onto this call's own state: a later subscribe of the group (or an unsubscribe)
            // replaced it, and that call's answer starts the group; applying this one as well
            // would deliver its history twice.
            if (_groups.TryGetValue(group, out var current) && ReferenceEquals(current, state)
                && await ApplyAsync(group, state, result, first: true) is { } error)
            {
                ExceptionDispatchInfo.Throw(error);
            }
            done.TrySetResult(result);
        });
        return await done.Task.WaitAsync(cancellationToken);
    }

    /// <summary>
    /// Stops following <paramref name="group"/>: nothing more of it is delivered, and no reconnect or
    /// later <see cref="StartAsync"/> subscribes it again. While connected, the server is asked to
    /// unsubscribe the connection too; while not (stopped, closed, reconnecting), there is no
    /// subscription on the server to end, and forgetting the group is all. The same holds when the
    /// connection drops during the server call: the server ends a closed connection's
    /// subscriptions itself, so the call completes instead of failing. A refusal by the server
    /// (<see cref="HubException"/>) and the caller's own cancellation still throw.
    /// </summary>
    public async Task UnsubscribeAsync(string group, CancellationToken cancellationToken = default)
    {
        await Enqueue(() => { lock (_groups) _groups.Remove(group); return Task.CompletedTask; });
        if (Connection.State != HubConnectionState.Connected)
        {
            return;
        }
        try
        {
            await Connection.InvokeAsync(HubMethods.Unsubscribe, group, cancellationToken);
        }
        catch (Exception e) when (e is not HubException && !cancellationToken.IsCancellationRequested)
        {
            // Whatever the server answers reaches this client as a HubException; anything else is
            // the connection the call went on failing (its error, or its close), and the server ends
            // a closed connection's subscriptions itself. Not decided by the connection's state:
            // the call fails before the state leaves Connected.
        }
    }

    /// <summary>Publishes to a group; completes with the acknowledgement once the message is durable. Pass an <paramref name="id"/> to make retries safe.</summary>
    public Task<PublishResult> PublishAsync(string group, string message, string? id = null, CancellationToken cancellationToken = default) =>
        Connection.InvokeAsync<PublishResult>(HubMethods.Publish, group, new PublishRequest { Id = id, Message = message }, cancellationToken);

    public Task<HistoryPageDto> GetHistoryAsync(string group, long after, int limit, CancellationToken cancellationToken = default) =>
        Connection.InvokeAsync<HistoryPageDto>(HubMethods.GetHistory, group, after, limit, cancellationToken);

    public Task<GroupPresenceDto> GetPresenceAsync(string group, CancellationToken cancellationToken = default) =>
        Connection.InvokeAsync<GroupPresenceDto>(HubMethods.GetPresence, group, cancellationToken);

    /// <summary>The last (offset, epoch) delivered for a group, or null when not subscribed.</summary>
    public (long Offset, string Epoch)? PositionOf(string group)
    {
        lock (_groups)
        {
            return _groups.TryGetValue(group, out var s) && s.Epoch is not null ? (s.Offset, s.Epoch) : null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _disposing.CancelAsync(); // no gap fill is tried again
        await Connection.DisposeAsync();
        _work.Writer.TryComplete();
        await _worker;
        lock (_groups) _groups.Clear(); // ended: nothing is followed any more
        // _disposing is not disposed: it has no timer or wait handle, and a second DisposeAsync must still be able to cancel it.
    }

    private Task Enqueue(Func<Task> work)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_work.Writer.TryWrite(async () =>
            {
                try { await work(); done.TrySetResult(); }
                catch (Exception e) { done.TrySetException(e); }
            }))
        {
            done.TrySetException(new ObjectDisposedException(nameof(SwitchboardClient)));
        }
        return done.Task;
    }

    private async Task RunAsync()
    {
        await foreach (var work in _work.Reader.ReadAllAsync())
        {
            await work();
        }
    }

    private static Task Raise<T>(Action<T>? handler, T value)
    {
        handler?.Invoke(value);
        return Task.CompletedTask;
    }

    // Everything below runs on the worker, one item at a time.

    private async Task OnEnvelopeAsync(GroupEnvelope envelope)
    {
        if (!_groups.TryGetValue(envelope.Group, out var state))
        {
            return; // unsubscribed meanwhile
        }
        state.Waiting.Add(envelope);
        if (state.Waiting.Count > _options.MaxWaiting)
        {
            // Held too long (a gap that cannot be fetched, a resubscribe that cannot settle the
            // group) on a busy group: give it up rather than grow without bound.
            state.Stalled = false;
            state.Retry++; // the pending retry, if any, does nothing
            LoseGroup(envelope.Group, state, new InvalidOperationException(
                $"More than {_options.MaxWaiting} messages of group '{envelope.Group}' waited behind a gap that could not be fetched " +
                "(or a resubscribe that could not complete); the group was given up. Subscribe again to follow it."));
            return;
        }
        if (state.Epoch is null || state.Resubscribing || state.Stalled)
        {
            // The subscribe answer decides where we stand, or a gap before it is still being
            // fetched: whoever ends the wait delivers it, in order.
            return;
        }
        await DeliverWaitingAsync(envelope.Group, state);
    }

    /// <summary>
    /// Delivers the group's waiting envelopes in offset order, each after the gap before it is
    /// filled from history. When a gap's fetch fails, the envelope and those after it go on
    /// waiting (see <see cref="FillFailed"/>).
    /// </summary>
    private async Task DeliverWaitingAsync(string group, GroupState state)
    {
        var waiting = state.Waiting;
        waiting.Sort(static (a, b) => a.Offset.CompareTo(b.Offset));
        var done = 0;
        Exception? failure = null;
        try
        {
            for (; done < waiting.Count; done++)
            {
                if ((failure = await AcceptAsync(group, state, waiting[done])) is not null)
                {
                    break;
                }
            }
        }
        finally
        {
            waiting.RemoveRange(0, done); // delivered, or dropped as already delivered
        }
        if (failure is null)
        {
            state.FillFailures = 0;
            return;
        }
        FillFailed(group, state, failure);
    }

    /// <summary>
    /// A gap's fetch failed while its envelope waits. A refusal that cannot change loses the group
    /// (<see cref="SubscriptionLost"/>); anything else (<c>rate_limited</c>, <c>unavailable</c>,
    /// a server error, the connection dropping) is tried again after the next of
    /// <see cref="SwitchboardClientOptions.GapFillRetryDelays"/>, and until then what arrives for
    /// the group waits behind it.
    /// </summary>
    private void FillFailed(string group, GroupState state, Exception error)
    {
        if (error is HubException && ErrorCode(error) is { } code && FinalRefusals.Contains(code))
        {
            var loss = new SubscriptionLoss(group, state.Offset, state.Epoch, error);
            Forget(group, state);
            state.Waiting.Clear();
            SubscriptionLost?.Invoke(loss);
            return;
        }
        state.Stalled = true;
        var retry = ++state.Retry;
        if (Connection.State == HubConnectionState.Disconnected)
        {
            return; // stopped or closed for good: nothing to retry on; a later start's resubscribe fetches the gap
        }
        var delays = _options.GapFillRetryDelays;
        var delay = delays[Math.Min(state.FillFailures, delays.Count - 1)];
        state.FillFailures++;
        _ = RetryFillLaterAsync(group, state, retry, delay);
    }

    private async Task RetryFillLaterAsync(string group, GroupState state, int retry, TimeSpan delay)
    {
        try
        {
            await Task.Delay(delay, _disposing.Token);
        }
        catch (OperationCanceledException)
        {
            return; // disposed
        }
        _ = Enqueue(async () =>
        {
            if (!state.Stalled || state.Retry != retry || !IsFollowed(group, state))
            {
                return; // unsubscribed, lost, or a resubscribe took over
            }
            if (Connection.State != HubConnectionState.Connected)
            {
                return; // the reconnect's resubscribe delivers what waits
            }
            state.Stalled = false;
            await DeliverWaitingAsync(group, state);
        });
    }

    /// <summary>The Switchboard code of a hub error ("... HubException: {code}: {sentence}"), or null.</summary>
    private static string? ErrorCode(Exception error)
    {
        const string marker = "HubException: ";
        var message = error.Message;
        var at = message.LastIndexOf(marker, StringComparison.Ordinal);
        if (at < 0)
        {
            return null;
        }
        var rest = message.AsSpan(at + marker.Length);
        var colon = rest.IndexOf(": ", StringComparison.Ordinal);
        return colon <= 0 ? null : rest[..colon].ToString();
    }

    /// <summary>
    /// Delivers <paramref name="envelope"/> unless it was delivered already, first filling the gap
    /// before it from history. Returns null when done, or the error of the history call that
    /// failed (the envelope was not delivered; what the fill got before it was).
    /// </summary>
    private async Task<Exception?> AcceptAsync(string group, GroupState state, GroupEnvelope envelope)
    {
        if (envelope.Epoch != state.Epoch)
        {
            // The group's history was reset while we were connected: nothing before can be recovered.
            RecoveryFailed?.Invoke(new RecoveryFailure(group, state.Offset, state.Epoch, envelope.Epoch));
            state.Epoch = envelope.Epoch;
            state.Offset = envelope.Offset - 1;
        }
        if (envelope.Offset <= state.Offset)
        {
            return null; // already delivered
        }
        if (envelope.Offset > state.Offset + 1)
        {
            var first = state.Offset + 1;
            if (await FillGapAsync(group, state, envelope.Offset - 1) is { } error)
            {
                return error;
            }
            GapFilled?.Invoke(group, first, envelope.Offset - 1);
        }
        Deliver(state, envelope);
        return null;
    }

    /// <summary>
    /// Delivers messages after the state's offset up to <paramref name="until"/> from history, page
    /// by page (the server serves at most its <c>Recovery:MaxMessages</c> per page, whatever the
    /// limit asked for). When retention has trimmed the start of the gap (the page's
    /// <c>firstRetained</c> is beyond the next offset), those messages are lost:
    /// <see cref="RecoveryFailed"/> says so with the last offset delivered, and what is still
    /// retained is delivered, from <c>firstRetained</c> on. Returns null when done, or the error of
    /// the history call that failed (what came before it was delivered).
    /// </summary>
    private async Task<Exception?> FillGapAsync(string group, GroupState state, long until)
    {
        while (state.Offset < until)
        {
            HistoryPageDto page;
            try
            {
                page = await Connection.InvokeAsync<HistoryPageDto>(HubMethods.GetHistory, group, state.Offset,
                    (int)Math.Min(_options.PageSize, until - state.Offset));
            }
            catch (Exception e)
            {
                return e;
            }
            if (page.Epoch != state.Epoch)
            {
                // The group's history was replaced: nothing of the gap can be had.
                Lose(group, state, page.Epoch, until);
                return null;
            }
            if (page.FirstRetained > state.Offset + 1)
            {
                // Trimmed by retention up to firstRetained - 1; the page starts at firstRetained.
                Lose(group, state, page.Epoch, Math.Min(until, page.FirstRetained - 1));
            }
            else if (page.Messages.Count == 0)
            {
                Lose(group, state, page.Epoch, until); // nothing where the gap should be
                return null;
            }
            foreach (var message in page.Messages)
            {
                if (message.Offset > until) break;
                if (message.Offset <= state.Offset) continue;
                Deliver(state, message);
            }
        }
        return null;
    }

    /// <summary>Reports that the messages after the state's offset up to <paramref name="lostUntil"/> cannot be had, and skips them.</summary>
    private void Lose(string group, GroupState state, string epoch, long lostUntil)
    {
        RecoveryFailed?.Invoke(new RecoveryFailure(group, state.Offset, state.Epoch, epoch));
        lock (_groups)
        {
            state.Epoch = epoch;
            state.Offset = lostUntil;
        }
    }

    private void Deliver(GroupState state, GroupEnvelope envelope)
    {
        lock (_groups)
        {
            state.Offset = envelope.Offset;
        }
        MessageReceived?.Invoke(envelope);
    }

    /// <summary>
    /// Applies a <c>Subscribe</c> answer: delivers its messages, then pages what it says is missing
    /// up to its offset, then what waited for the group. Returns null when done, or the error of the
    /// page that failed (what came before it was delivered; <see cref="GroupState.PageUntil"/> says
    /// how far paging must still go, and the group's envelopes go on waiting).
    /// </summary>
    private async Task<Exception?> ApplyAsync(string group, GroupState state, SubscribeResult result, bool first)
    {
        if (first || !result.Recovered)
        {
            if (!first)
            {
                RecoveryFailed?.Invoke(new RecoveryFailure(group, state.Offset, state.Epoch, result.Epoch));
            }
            lock (_groups)
            {
                // Start just before the history we were given, or at the group's position.
                state.Epoch = result.Epoch;
                state.Offset = result.Messages.Count > 0 ? result.Messages[0].Offset - 1 : result.Offset;
            }
        }
        foreach (var message in result.Messages)
        {
            // The answer's messages follow one another from the position set above: no gap to fetch.
            if (await AcceptAsync(group, state, message) is { } error)
            {
                return error;
            }
        }
        if (result.Recovered && result.HasMore)
        {
            state.PageUntil = result.Offset;
        }
        return await FinishAsync(group, state);
    }

    /// <summary>Pages up to <see cref="GroupState.PageUntil"/> if set, then delivers what waited. Returns the failed page's error, or null.</summary>
    private async Task<Exception?> FinishAsync(string group, GroupState state)
    {
        if (state.PageUntil is { } until)
        {
            if (await FillGapAsync(group, state, until) is { } pageError)
            {
                return pageError;
            }
            state.PageUntil = null;
        }
        state.Resubscribing = false;
        await DeliverWaitingAsync(group, state);
        return null;
    }

    /// <summary>
    /// After a reconnect, or a start when groups are followed from an earlier connection: subscribes
    /// every followed group again, one at a time, from its last (offset, epoch) (see
    /// <see cref="ContinueResubscribeAsync"/>). After a start with no group followed, does nothing
    /// (no <see cref="Resubscribed"/>).
    /// </summary>
    private async Task ResubscribeAllAsync(bool afterStart = false)
    {
        List<KeyValuePair<string, GroupState>> groups;
        lock (_groups) groups = [.. _groups];
        if (afterStart && groups.Count == 0)
        {
            return; // a first start, or nothing followed any more
        }
        AbandonResubscribe();
        var round = _round;
        foreach (var (group, state) in groups)
        {
            // Subscribing again from the last offset delivered fetches any gap a failed fill left,
            // and what waited behind it is delivered after the answer: no fill retry is needed any
            // more. Until the group is settled, its live envelopes wait.
            state.Resubscribing = true;
            state.Stalled = false;
            state.FillFailures = 0;
            state.PageUntil = null;
            _unsettled.Enqueue((group, state));
        }
        await ContinueResubscribeAsync(round);
    }

    /// <summary>Supersedes the current resubscribe: its scheduled retry does nothing, and it never raises <see cref="Resubscribed"/>.</summary>
    private void AbandonResubscribe()
    {
        Interlocked.Increment(ref _round); // also from StopAsync, off the worker
        _unsettled.Clear();
        _resubscribeFailures = 0;
    }

    /// <summary>
    /// Walks the resubscribe's unsettled groups in order. A group whose <c>Subscribe</c> or page
    /// fails for a reason that can pass stops the walk: it goes on with that group, from what it has
    /// delivered, after the next of <see cref="SwitchboardClientOptions.GapFillRetryDelays"/> (one
    /// call at a time, so a rate-limited connection is not hammered). A refusal that cannot change
    /// loses the group. When none is left, raises <see cref="Resubscribed"/>.
    /// </summary>
    private async Task ContinueResubscribeAsync(int round)
    {
        while (round == _round && _unsettled.TryPeek(out var next))
        {
            var (group, state) = next;
            if (!IsFollowed(group, state))
            {
                _unsettled.Dequeue(); // unsubscribed, or subscribed anew, meanwhile
                continue;
            }
            Exception? error;
            try
            {
                error = await ResubscribeAsync(group, state);
            }
            catch (Exception e)
            {
                // An event handler threw (calls' failures are returned, not thrown): as before, the group is given up.
                _unsettled.Dequeue();
                LoseGroup(group, state, e);
                continue;
            }
            if (error is null)
            {
                _unsettled.Dequeue();
                _resubscribeFailures = 0;
                continue;
            }
            if (Connection.State != HubConnectionState.Connected)
            {
                return; // dropped again, or stopped: the next Reconnected starts over
            }
            if (error is HubException && ErrorCode(error) is { } code && FinalResubscribeRefusals.Contains(code))
            {
                _unsettled.Dequeue();
                LoseGroup(group, state, error);
                continue;
            }
            var delays = _options.GapFillRetryDelays;
            var delay = delays[Math.Min(_resubscribeFailures, delays.Count - 1)];
            _resubscribeFailures++;
            _ = ResumeResubscribeLaterAsync(round, delay);
            return;
        }
        if (round == _round)
        {
            AbandonResubscribe(); // done: nothing more to raise for this round
            Resubscribed?.Invoke();
        }
    }

    private async Task ResumeResubscribeLaterAsync(int round, TimeSpan delay)
    {
        try
        {
            await Task.Delay(delay, _disposing.Token);
        }
        catch (OperationCanceledException)
        {
            return; // disposed
        }
        _ = Enqueue(async () =>
        {
            if (round != _round || Connection.State != HubConnectionState.Connected)
            {
                return; // superseded, dropped or stopped: the next Reconnected starts over
            }
            await ContinueResubscribeAsync(round);
        });
    }

    /// <summary>
    /// Subscribes <paramref name="group"/> again from its last position, or, when an earlier try's
    /// answer was applied and only its paging failed, pages on from there. Returns null when the
    /// group is settled, or the error of the call that failed.
    /// </summary>
    private async Task<Exception?> ResubscribeAsync(string group, GroupState state)
    {
        if (state.PageUntil is not null)
        {
            return await FinishAsync(group, state);
        }
        var request = new SubscribeRequest { Presence = state.Presence };
        if (state.Epoch is not null)
        {
            request.Offset = state.Offset;
            request.Epoch = state.Epoch;
        }
        SubscribeResult result;
        try
        {
            result = await Connection.InvokeAsync<SubscribeResult>(HubMethods.Subscribe, group, request);
        }
        catch (Exception e)
        {
            return e;
        }
        return await ApplyAsync(group, state, result, first: state.Epoch is null);
    }

    private void LoseGroup(string group, GroupState state, Exception error)
    {
        var loss = new SubscriptionLoss(group, state.Offset, state.Epoch, error);
        Forget(group, state);
        state.Waiting.Clear();
        SubscriptionLost?.Invoke(loss);
    }

    private bool IsFollowed(string group, GroupState state)
    {
        lock (_groups)
        {
            return _groups.TryGetValue(group, out var current) && ReferenceEquals(current, state);
        }
    }

    /// <summary>Stops following <paramref name="group"/> if <paramref name="state"/> is still its state.</summary>
    private void Forget(string group, GroupState state)
    {
        lock (_groups)
        {
            if (_groups.TryGetValue(group, out var current) && ReferenceEquals(current, state))
            {
                _groups.Remove(group);
            }
        }
    }

    private sealed class GroupState(bool presence)
    {
        public bool Presence { get; } = presence;
        public string? Epoch { get; set; }
        public long Offset { get; set; }
        /// <summary>A reconnect's resubscribe has not settled the group yet: its live envelopes wait.</summary>
        public bool Resubscribing { get; set; }

        /// <summary>
        /// Envelopes not delivered yet: received before the subscribe answer or during a
        /// resubscribe, or behind a gap whose fetch failed.
        /// </summary>
        public List<GroupEnvelope> Waiting { get; } = [];

        /// <summary>A gap's fetch failed: <see cref="Waiting"/> is delivered by its retry (or a resubscribe), not by the next envelope.</summary>
        public bool Stalled { get; set; }

        /// <summary>Failed fetches in a row, which pick the next retry delay.</summary>
        public int FillFailures { get; set; }

        /// <summary>Which scheduled retry is the current one; a superseded one does nothing.</summary>
        public int Retry { get; set; }

        /// <summary>
        /// A resubscribe's <c>Subscribe</c> answer was applied but paging what it said was missing
        /// failed: the offset paging must still reach before what waits is delivered.
        /// </summary>
        public long? PageUntil { get; set; }
    }

    private sealed class RetryPolicy(IReadOnlyList<TimeSpan> delays, TimeSpan giveUpAfter) : IRetryPolicy
    {
        public TimeSpan? NextRetryDelay(RetryContext retryContext) =>
            retryContext.ElapsedTime >= giveUpAfter || delays.Count == 0
                ? null
                : delays[(int)Math.Min(retryContext.PreviousRetryCount, delays.Count - 1)];
    }
}

/// <summary>Recovery of <see cref="Group"/> was impossible: what the client had, and the epoch it continues with.</summary>
public sealed record RecoveryFailure(string Group, long LastOffset, string? LastEpoch, string CurrentEpoch);

/// <summary>
/// <see cref="Group"/> could not be followed again after a reconnect, or the server refused a
/// gap's fetch, for good, or more than <see cref="SwitchboardClientOptions.MaxWaiting"/> of its
/// messages waited: the last position delivered (<see cref="LastEpoch"/> is null when nothing was)
/// and the server's refusal (or an <see cref="InvalidOperationException"/> saying too many waited).
/// </summary>
public sealed record SubscriptionLoss(string Group, long LastOffset, string? LastEpoch, Exception Error);
