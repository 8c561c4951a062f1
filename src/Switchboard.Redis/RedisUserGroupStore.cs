using Switchboard.Core.Membership;

namespace Switchboard.Redis;

/// <summary><see cref="IUserGroupStore"/> in Redis: one set per user, <c>P:ug:{user}</c>, shared by every process.</summary>
public sealed class RedisUserGroupStore(RedisConnection redis) : IUserGroupStore
{
    public async ValueTask<bool> AddAsync(string userId, string group) =>
        await (await redis.DatabaseAsync()).SetAddAsync(redis.Key("ug:" + userId), group);

    public async ValueTask<bool> RemoveAsync(string userId, string group) =>
        await (await redis.DatabaseAsync()).SetRemoveAsync(redis.Key("ug:" + userId), group);

    public async ValueTask<IReadOnlyList<string>> GetGroupsAsync(string userId) =>
        [.. (await (await redis.DatabaseAsync()).SetMembersAsync(redis.Key("ug:" + userId))).Select(g => (string)g!).Order(StringComparer.Ordinal)];
}
