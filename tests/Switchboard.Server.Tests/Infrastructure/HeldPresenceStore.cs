using Switchboard.Core.Presence;

namespace Switchboard.Server.Tests.Infrastructure;

/// <summary>
/// A real presence store whose next leave, once armed, is held after the store has made it
/// (the group's state has changed) and before its caller learns of it: the window in which
/// another connection's transition of the same group can overtake it on the way to the webhook
/// queue. Everything else goes straight through.
/// </summary>
public sealed class HeldPresenceStore(IPresenceStore inner) : IPresenceStore
{
    private volatile Hold? _hold;

    public sealed class Hold
    {
        private readonly TaskCompletionSource _made = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Completes when the store has made the held leave.</summary>
        public Task Made => _made.Task;

        public void Release() => _released.TrySetResult();

        internal async Task HoldAsync()
        {
            _made.TrySetResult();
            await _released.Task.WaitAsync(TestTimeouts.Network);
        }
    }

    /// <summary>Holds the next <see cref="LeaveAsync"/> after the store made it, until released.</summary>
    public Hold HoldNextLeave() => _hold = new Hold();

    public async ValueTask<PresenceChange?> LeaveAsync(string group, string connectionId)
    {
        var change = await inner.LeaveAsync(group, connectionId);
        if (Interlocked.Exchange(ref _hold, null) is { } hold) await hold.HoldAsync();
        return change;
    }

    public ValueTask<int> ConnectedAsync(string connectionId, string userId, string name) => inner.ConnectedAsync(connectionId, userId, name);
    public ValueTask<string?> GetConnectionUserAsync(string connectionId) => inner.GetConnectionUserAsync(connectionId);
    public ValueTask<IReadOnlyList<PresenceChange>> DisconnectedAsync(string connectionId) => inner.DisconnectedAsync(connectionId);
    public ValueTask<PresenceChange?> JoinAsync(string group, string connectionId) => inner.JoinAsync(group, connectionId);
    public ValueTask<GroupPresence> GetGroupAsync(string group) => inner.GetGroupAsync(group);
    public ValueTask<UserPresence> GetUserAsync(string userId) => inner.GetUserAsync(userId);
}
