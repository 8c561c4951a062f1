using Switchboard.Contracts;
using Switchboard.Server.Hosting;

namespace Switchboard.Server.Hubs;

/// <summary>The argument rules of Subscribe, SubscribePrivate, GetHistory and the history API, in one place.</summary>
internal static class RecoveryRules
{
    public static SwitchboardError? CheckSubscribe(SubscribeRequest request, RecoveryOptions limits) =>
        request.History < 0 || request.History > limits.MaxHistory || request.Offset < 0
            ? new(ErrorCodes.PositionInvalid, $"history must be between 0 and {limits.MaxHistory}, and offset must not be negative.")
            : null;

    public static SwitchboardError? CheckPage(long after, long limit, RecoveryOptions limits) =>
        after < 0 || limit < 1 || limit > limits.MaxMessages ? PageInvalid(limits) : null;

    /// <summary>The refusal of a page's <c>after</c> or <c>limit</c>.</summary>
    public static SwitchboardError PageInvalid(RecoveryOptions limits) =>
        new(ErrorCodes.PositionInvalid, $"after must not be negative and limit must be between 1 and {limits.MaxMessages}.");
}
