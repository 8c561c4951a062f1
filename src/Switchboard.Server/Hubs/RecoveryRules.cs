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

    /// <summary>
    /// A page's <c>after</c> must not be negative and its <c>limit</c> must be at least 1. A larger
    /// <c>limit</c> than <see cref="RecoveryOptions.MaxMessages"/> is not refused: it is served as
    /// that many (<see cref="PageLimit"/>), as a page cut by size is, so that a client need not know
    /// the deployment's maximum (Centrifugo's history call clamps its limit the same way).
    /// </summary>
    public static SwitchboardError? CheckPage(long after, long limit) =>
        after < 0 || limit < 1 ? PageInvalid : null;

    /// <summary>The number of messages a page asked for with <paramref name="limit"/> (at least 1, checked) may carry.</summary>
    public static int PageLimit(long limit, RecoveryOptions limits) => (int)Math.Min(limit, limits.MaxMessages);

    /// <summary>The refusal of a page's <c>after</c> or <c>limit</c>.</summary>
    public static SwitchboardError PageInvalid { get; } =
        new(ErrorCodes.PositionInvalid, "after must not be negative and limit must be at least 1.");
}
