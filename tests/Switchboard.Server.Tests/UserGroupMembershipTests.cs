using System.Reflection;
using Microsoft.AspNetCore.SignalR.Client;
using Switchboard.Contracts;
using Switchboard.Core.Connections;
using Switchboard.Core.Membership;
using Switchboard.Core.Presence;
using Switchboard.Server.Authentication;
using Switchboard.Server.Hubs;
using Switchboard.Server.Tests.Infrastructure;

namespace Switchboard.Server.Tests;

/// <summary>A server of its own: these tests swap the user-group store under <see cref="ChatMembership"/> to inject faults.</summary>
public sealed class MembershipFaultServer() : SwitchboardFactoryWith([]);

/// <summary>User-level memberships against the races and failures around a connect.</summary>
public sealed class UserGroupMembershipTests(MembershipFaultServer server) : IClassFixture<MembershipFaultServer>
{
    private static string NewGroup() => "ug-" + Guid.NewGuid().ToString("N")[..10];

    private static FieldInfo Field<T>() =>
        typeof(ChatMembership).GetFields(BindingFlags.NonPublic | BindingFlags.Instance).Single(f => f.FieldType == typeof(T));

    /// <summary>Runs <paramref name="test"/> with <paramref name="replace"/>'s store in place of the real one, and puts the real one back.</summary>
    private async Task WithStore(Func<IUserGroupStore, IUserGroupStore> replace, Func<IUserGroupStore, Task> test)
    {
        var membership = server.Get<ChatMembership>();
        var field = Field<IUserGroupStore>();
        var real = (IUserGroupStore)field.GetValue(membership)!;
        field.SetValue(membership, replace(real));
        try
        {
            await test(real);
        }
        finally
        {
            field.SetValue(membership, real);
        }
    }

    [Fact]
    public async Task AMembershipRemovedWhileTheUserConnectsDoesNotStayOnTheNewConnection()
    {
        var group = NewGroup();
        var user = "racer-" + group;
        using var http = server.Http(server.Token("ops", roles: [Roles.Admin]));
        (await http.PostAsync($"/api/groups/{group}/users/{user}", null).DefaultTimeout()).EnsureSuccessStatusCode();
        GateStore? gate = null;
        await WithStore(real => gate = new GateStore(real), async real =>
        {
            await using var racer = server.Hub(HubRoutes.Chat, server.Token(user));
            var start = racer.StartedAsync();
            await gate!.Read.Task.DefaultTimeout(); // the connect has read [group] and waits
            (await http.DeleteAsync($"/api/groups/{group}/users/{user}").DefaultTimeout()).EnsureSuccessStatusCode();
            gate.Release.TrySetResult();
            await start;
            // An invocation runs after the connect has finished.
            await racer.InvokeAsync(HubMethods.Unsubscribe, NewGroup()).DefaultTimeout();

            Assert.Empty(await real.GetGroupsAsync(user));
            var presence = await server.Get<IPresenceStore>().GetUserAsync(user);
            Assert.DoesNotContain(group, presence.Groups);
        });
    }

    [Fact]
    public async Task AChatConnectThatFailsLeavesNoConnectionBehindForLaterMemberships()
    {
        var user = "ghost-" + NewGroup();
        await WithStore(real => new ThrowingStore(real), async _ =>
        {
            await using var ghost = server.Hub(HubRoutes.Chat, server.Token(user));
            var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            ghost.Closed += _ => { closed.TrySetResult(); return Task.CompletedTask; };
            await ghost.StartAsync().DefaultTimeout();
            await closed.Task.DefaultTimeout(); // the failed OnConnectedAsync closed it
        });

        var chatConnections = (IConnectionTracker)Field<InMemoryConnectionTracker>().GetValue(server.Get<ChatMembership>())!;
        await TestTimeouts.Eventually(() => server.Get<IConnectionTracker>().GetUserConnections(user).Count == 0, "the connection is gone");
        Assert.Empty(chatConnections.GetUserConnections(user));
    }

    [Fact]
    public async Task AUserGroupChangeSkipsAConnectionNoLongerOpenAndReachesTheOpenOnes()
    {
        var group = NewGroup();
        var user = "stale-" + group;
        var membership = server.Get<ChatMembership>();
        var chatConnections = (InMemoryConnectionTracker)Field<InMemoryConnectionTracker>().GetValue(membership)!;
        chatConnections.AddConnection(user, "closed-" + group); // as if it closed after the change took its list
        await using var live = server.Hub(HubRoutes.Chat, server.Token(user));
        await live.StartedAsync();
        await live.InvokeAsync(HubMethods.Unsubscribe, NewGroup()).DefaultTimeout();
        using var http = server.Http(server.Token("ops", roles: [Roles.Admin]));

        (await http.PostAsync($"/api/groups/{group}/users/{user}", null).DefaultTimeout()).EnsureSuccessStatusCode();

        await TestTimeouts.Eventually(() => server.Get<IPresenceStore>().GetUserAsync(user).AsTask().Result.Groups.Contains(group), "the open connection joined");
        Assert.False(server.Get<GroupQuota>().Counts("closed-" + group, group), "the change was applied to a connection that is not open");
        chatConnections.RemoveConnection(user, "closed-" + group);
    }

    [Fact]
    public async Task AConnectionInAGroupInBothFormsGetsEachMessageOnceAsAnEnvelope()
    {
        // A user-level member (a plain member from its connect) that subscribes, and a
        // connection that subscribes and then joins with JoinGroup.
        var group = NewGroup();
        var user = "both-" + group;
        using var http = server.Http(server.Token("ops", roles: [Roles.Admin]));
        (await http.PostAsync($"/api/groups/{group}/users/{user}", null).DefaultTimeout()).EnsureSuccessStatusCode();
        await using var member = server.Hub(HubRoutes.Chat, server.Token(user));
        await using var joiner = server.Hub(HubRoutes.Chat, server.Token("joiner-" + group));
        var logs = new List<(EventLog<(string, string)> Plain, EventLog<GroupEnvelope> Envelopes)>();
        foreach (var connection in new[] { member, joiner })
        {
            logs.Add((Events.On<string, string>(connection, ClientEvents.ReceiveMessage), Events.On<GroupEnvelope>(connection, ClientEvents.ReceiveGroupMessage)));
            await connection.StartedAsync();
            await connection.InvokeAsync<SubscribeResult>(HubMethods.Subscribe, group, new SubscribeRequest()).DefaultTimeout();
        }
        await joiner.InvokeAsync(HubMethods.JoinGroup, group).DefaultTimeout();
        await using var publisher = await server.ConnectAsync(HubRoutes.Chat, server.Token("pub"));

        await publisher.InvokeAsync(HubMethods.SendMessageToGroup, group, "x", "one").DefaultTimeout();
        await publisher.InvokeAsync<PublishResult>(HubMethods.Publish, group, new PublishRequest { Message = "two" }).DefaultTimeout();

        foreach (var (plain, envelopes) in logs)
        {
            Assert.Equal("one", (await envelopes.NextAsync()).Payload);
            Assert.Equal("two", (await envelopes.NextAsync()).Payload);
            // A run's plain copies go out before its envelopes, on the same connection: any would be here by now.
            Assert.Empty(plain.Drain());
        }

        // Unsubscribing leaves every form; joining again gives the plain form back.
        await joiner.InvokeAsync(HubMethods.Unsubscribe, group).DefaultTimeout();
        await joiner.InvokeAsync(HubMethods.JoinGroup, group).DefaultTimeout();
        await publisher.InvokeAsync(HubMethods.SendMessageToGroup, group, "x", "three").DefaultTimeout();
        Assert.Equal("three", (await logs[1].Plain.NextAsync()).Item2);
    }

    [Fact]
    public async Task ReconcilingAppliesMembershipChangesWhoseCommandsWereMissed()
    {
        var (kept, removed, added) = (NewGroup(), NewGroup(), NewGroup());
        var user = "missed-" + kept;
        using var http = server.Http(server.Token("ops", roles: [Roles.Admin]));
        foreach (var group in new[] { kept, removed })
        {
            (await http.PostAsync($"/api/groups/{group}/users/{user}", null).DefaultTimeout()).EnsureSuccessStatusCode();
        }
        await using var connection = server.Hub(HubRoutes.Chat, server.Token(user));
        await connection.StartedAsync();
        await connection.InvokeAsync(HubMethods.JoinGroup, "own-" + kept).DefaultTimeout(); // the client's own, not the server's
        // Changes stored while this process was cut off from the bus: their commands never came.
        var store = server.Get<IUserGroupStore>();
        await store.RemoveAsync(user, removed);
        await store.AddAsync(user, added);

        await server.Get<ChatMembership>().ReconcileUserGroupsAsync().DefaultTimeout();

        var groups = (await server.Get<IPresenceStore>().GetUserAsync(user)).Groups;
        Assert.Equal(new[] { added, kept, "own-" + kept }.Order(StringComparer.Ordinal), groups.Order(StringComparer.Ordinal));
    }

    private sealed class GateStore(IUserGroupStore inner) : IUserGroupStore
    {
        private int _reads;

        public TaskCompletionSource Read { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public ValueTask<bool> AddAsync(string userId, string group) => inner.AddAsync(userId, group);
        public ValueTask<bool> RemoveAsync(string userId, string group) => inner.RemoveAsync(userId, group);

        /// <summary>The first read (the connect's) waits for <see cref="Release"/> after reading.</summary>
        public async ValueTask<IReadOnlyList<string>> GetGroupsAsync(string userId)
        {
            var groups = await inner.GetGroupsAsync(userId);
            if (Interlocked.Increment(ref _reads) == 1)
            {
                Read.TrySetResult();
                await Release.Task.WaitAsync(TestTimeouts.Network);
            }
            return groups;
        }
    }

    private sealed class ThrowingStore(IUserGroupStore inner) : IUserGroupStore
    {
        public ValueTask<bool> AddAsync(string userId, string group) => inner.AddAsync(userId, group);
        public ValueTask<bool> RemoveAsync(string userId, string group) => inner.RemoveAsync(userId, group);
        public ValueTask<IReadOnlyList<string>> GetGroupsAsync(string userId) =>
            ValueTask.FromException<IReadOnlyList<string>>(new InvalidOperationException("the store is unreachable"));
    }
}
