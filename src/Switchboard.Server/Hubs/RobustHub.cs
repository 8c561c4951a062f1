using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;
using Switchboard.Contracts;
using Switchboard.Core.Diagnostics;
using Switchboard.Core.Validation;
using Switchboard.Server.Hosting;

namespace Switchboard.Server.Hubs;

/// <summary>
/// <c>/hubs/robust</c>: the guide's error-handling hub. Every refusal and failure comes back as a
/// failed <see cref="Result"/> with a code; the method never throws.
/// </summary>
public sealed class RobustHub(IOptions<SwitchboardOptions> options, SwitchboardMetrics metrics, ILogger<RobustHub> logger) : Hub
{
    public async Task<Result> SendMessage(MessageRequest request)
    {
        try
        {
            if (InputRules.CheckMessage(request?.Message, options.Value.MaxMessageLength) is { } error)
            {
                metrics.Refused(error.Code);
                return Result.Failure(error);
            }
            await Clients.All.SendAsync(ClientEvents.ReceiveMessage, Context.NameOrAnonymous(), request!.Message);
            return Result.Success();
        }
        catch (Exception ex)
        {
            HubLog.RobustSendFailed(logger, ex, Context.ConnectionId);
            return Result.Failure(new SwitchboardError(ErrorCodes.InternalError, "Failed to send message."));
        }
    }
}
