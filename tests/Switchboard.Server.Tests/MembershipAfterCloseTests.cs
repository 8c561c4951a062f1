using System.Collections;
using System.Reflection;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Switchboard.Contracts;
using Switchboard.Core.Presence;
using Switchboard.Server.Hubs;
using Switchboard.Server.Tests.Infrastructure;
using Xunit;

namespace Switchboard.Server.Tests;

/// <summary>
/// A join that waited for the connection's membership gate while the connection closed must not
/// leave the connection's record (and its quota entry) behind: nothing would ever remove them.
/// </summary>
public sealed class MembershipAfterCloseTests
{
    private sealed class HeldJoinStore(IPresenceStore inner) : IPresenceStore
    {
        public readonly TaskCompletionSource Made = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public readonly TaskCompletionSource Released = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public readonly TaskCompletionSource SecondJoinDone = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _joins;

        public async ValueTask<PresenceChange?> JoinAsync(string group, string connectionId)
        {
            var n = Interlocked.Increment(ref _joins);
            if (n == 1)
            {
                Made.TrySetResult();
                await Released.Task.WaitAsync(TestTimeouts.Network);
            }
            var change = await inner.JoinAsync(group, connectionId);
            if (n == 2) SecondJoinDone.TrySetResult();
            return change;
        }

        public ValueTask<PresenceChange?> LeaveAsync(string group, string connectionId) => inner.LeaveAsync(group, connectionId);
        public ValueTask<int> ConnectedAsync(string connectionId, string userId, string name) => inner.ConnectedAsync(connectionId, userId, name);
        public ValueTask<string?> GetConnectionUserAsync(string connectionId) => inner.GetConnectionUserAsync(connectionId);
        public ValueTask<IReadOnlyList<PresenceChange>> DisconnectedAsync(string connectionId) => inner.DisconnectedAsync(connectionId);
        public ValueTask<GroupPresence> GetGroupAsync(string group) => inner.GetGroupAsync(group);
        public ValueTask<UserPresence> GetUserAsync(string userId) => inner.GetUserAsync(userId);
    }

    private static int Count(object owner, string field) =>
        ((ICollection)owner.GetType().GetField(field, BindingFlags.Instance | BindingFlags.NonPublic)!.GetValue(owner)!).Count;

    [Fact]
    public async Task AJoinQueuedBehindTheGateWhenTheConnectionClosesLeavesNothingBehind()
    {
        var store = new HeldJoinStore(new InMemoryPresenceStore(TimeProvider.System));
        await using var server = new SwitchboardFactory(new Dictionary<string, string?>
        {
            ["SignalR:MaximumParallelInvocationsPerClient"] = "4",
        })
        {
            TestServices = services => services.Replace(ServiceDescriptor.Singleton<IPresenceStore>(store)),
        };
        var membership = server.Get<ChatMembership>();
        var quota = server.Get<GroupQuota>();
        var client = await server.ConnectAsync(HubRoutes.Chat, server.Token("amy", "Amy"));

        _ = client.InvokeAsync(HubMethods.JoinGroup, "first");
        await store.Made.Task.DefaultTimeout(); // the first join holds the gate
        _ = client.InvokeAsync(HubMethods.JoinGroup, "second"); // waits for the gate
        await Task.Delay(100);
        await client.DisposeAsync();
        var deadline = DateTime.UtcNow + TestTimeouts.Network;
        while (Count(membership, "_connections") > 0 && DateTime.UtcNow < deadline) await Task.Delay(10);
        Assert.Equal(0, Count(membership, "_connections")); // OnDisconnectedAsync ran

        store.Released.TrySetResult();
        await Task.WhenAny(store.SecondJoinDone.Task, Task.Delay(500));
        await Task.Delay(100);
        Assert.Equal(0, Count(membership, "_connections"));
        Assert.Equal(0, Count(quota, "_groups"));
    }
}
