using Microsoft.AspNetCore.SignalR;

namespace Switchboard.Server.Authentication;

/// <summary>SignalR's user id is the token's <c>sub</c>, so <c>Clients.User(id)</c> reaches every connection of that user.</summary>
internal sealed class SubjectUserIdProvider : IUserIdProvider
{
    public string? GetUserId(HubConnectionContext connection) => connection.User.UserId();
}
