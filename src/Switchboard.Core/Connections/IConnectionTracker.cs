namespace Switchboard.Core.Connections;

/// <summary>
/// Which users are online and through which connections: the guide's <c>ConnectionTracker</c>.
/// Every method is safe to call concurrently, including connects and disconnects of the same
/// user racing each other; a user is online exactly while at least one connection is tracked.
/// Removing a connection that is not tracked does nothing.
/// </summary>
public interface IConnectionTracker
{
    void AddConnection(string userId, string connectionId);

    void RemoveConnection(string userId, string connectionId);

    bool IsUserOnline(string userId);

    /// <summary>A snapshot of the user's connection ids; empty when the user is offline.</summary>
    IReadOnlyCollection<string> GetUserConnections(string userId);

    /// <summary>Number of users with at least one connection.</summary>
    int OnlineUserCount { get; }
}
