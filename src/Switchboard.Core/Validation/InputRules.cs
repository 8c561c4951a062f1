using System.Buffers;
using Switchboard.Contracts;

namespace Switchboard.Core.Validation;

/// <summary>
/// The rules every name and message entering Switchboard is held to, whether it came through a
/// hub or the HTTP API. Each check returns null when the input is acceptable, or the
/// <see cref="SwitchboardError"/> to send back. Documented in <c>docs/protocol.md</c>.
/// </summary>
public static class InputRules
{
    /// <summary>Longest group name, in characters.</summary>
    public const int MaxGroupNameLength = 128;
    /// <summary>Longest user id, in characters.</summary>
    public const int MaxUserIdLength = 128;
    /// <summary>Longest display name an anonymous caller may give, in characters.</summary>
    public const int MaxUserNameLength = 100;

    /// <summary>
    /// Groups whose name starts with this prefix (compared ignoring case) belong to the server:
    /// <c>user:{userId}</c> is each user's private group. Clients can neither join nor address them by name.
    /// </summary>
    public const string ReservedUserPrefix = "user:";

    // Letters, digits and . _ - : @ ; no spaces, wildcards (* ? # >), slashes or control characters.
    private static readonly SearchValues<char> NameChars =
        SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-:@");

    public static SwitchboardError? CheckGroupName(string? groupName)
    {
        if (string.IsNullOrEmpty(groupName) || groupName.Length > MaxGroupNameLength ||
            groupName.AsSpan().ContainsAnyExcept(NameChars))
        {
            return new(ErrorCodes.GroupNameInvalid,
                $"Group names are 1 to {MaxGroupNameLength} characters: letters, digits and . _ - : @.");
        }
        if (groupName.StartsWith(ReservedUserPrefix, StringComparison.OrdinalIgnoreCase))
        {
            return new(ErrorCodes.GroupNameReserved,
                $"Group names starting with '{ReservedUserPrefix}' are reserved for the server.");
        }
        return null;
    }

    public static SwitchboardError? CheckUserId(string? userId)
    {
        if (string.IsNullOrEmpty(userId) || userId.Length > MaxUserIdLength ||
            userId.AsSpan().ContainsAnyExcept(NameChars))
        {
            return new(ErrorCodes.UserIdInvalid,
                $"User ids are 1 to {MaxUserIdLength} characters: letters, digits and . _ - : @.");
        }
        return null;
    }

    public static SwitchboardError? CheckUserName(string? userName)
    {
        if (string.IsNullOrWhiteSpace(userName) || userName.Length > MaxUserNameLength ||
            userName.AsSpan().ContainsAnyInRange('\u0000', '\u001f') || userName.Contains('\u007f'))
        {
            return new(ErrorCodes.UserNameInvalid,
                $"User names are 1 to {MaxUserNameLength} printable characters and not only whitespace.");
        }
        return null;
    }

    /// <summary>Longest client-chosen message id (for idempotent publish), in characters.</summary>
    public const int MaxMessageIdLength = 64;

    public static SwitchboardError? CheckMessageId(string? id)
    {
        if (string.IsNullOrEmpty(id) || id.Length > MaxMessageIdLength || id.AsSpan().ContainsAnyExcept(NameChars))
        {
            return new(ErrorCodes.MessageIdInvalid,
                $"Message ids are 1 to {MaxMessageIdLength} characters: letters, digits and . _ - : @.");
        }
        return null;
    }

    public static SwitchboardError? CheckMessage(string? message, int maxLength)
    {
        if (string.IsNullOrWhiteSpace(message))
        {
            return new(ErrorCodes.MessageEmpty, "Message cannot be empty.");
        }
        if (message.Length > maxLength)
        {
            return new(ErrorCodes.MessageTooLong, $"Message is longer than {maxLength} characters.");
        }
        return null;
    }

    /// <summary>The name of a user's private group. Only the server builds it.</summary>
    public static string UserGroup(string userId) => ReservedUserPrefix + userId;
}
