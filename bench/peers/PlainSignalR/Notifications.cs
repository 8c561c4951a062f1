using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.SignalR;

namespace PlainSignalR;

/// <summary>The guide's NotificationService, as written there.</summary>
public class NotificationService
{
    private readonly IHubContext<NotificationHub, INotificationClient> _hubContext;

    public NotificationService(IHubContext<NotificationHub, INotificationClient> hubContext)
    {
        _hubContext = hubContext;
    }

    public async Task SendToAllAsync(string message)
    {
        await _hubContext.Clients.All.ReceiveNotification(new NotificationDto { Message = message, Timestamp = DateTime.UtcNow });
    }

    public async Task SendToUserAsync(string userId, string message)
    {
        await _hubContext.Clients.User(userId).ReceiveNotification(new NotificationDto { Message = message, Timestamp = DateTime.UtcNow });
    }

    public async Task SendToGroupAsync(string groupName, string message)
    {
        await _hubContext.Clients.Group(groupName).ReceiveNotification(new NotificationDto { Message = message, Timestamp = DateTime.UtcNow });
    }
}

/// <summary>The guide's NotificationsController, with a group route beside its broadcast route.</summary>
[ApiController]
[Route("api/[controller]")]
public class NotificationsController : ControllerBase
{
    private readonly NotificationService _notificationService;

    public NotificationsController(NotificationService notificationService)
    {
        _notificationService = notificationService;
    }

    [HttpPost("broadcast")]
    public async Task<IActionResult> Broadcast([FromBody] string message)
    {
        await _notificationService.SendToAllAsync(message);
        return Ok();
    }

    [HttpPost("groups/{groupName}")]
    public async Task<IActionResult> SendToGroup(string groupName, [FromBody] string message)
    {
        await _notificationService.SendToGroupAsync(groupName, message);
        return Ok();
    }
}

/// <summary>
/// Counts open hub connections for the benchmark's GET /stats: a WebSocket request below /hubs
/// stays in this middleware for the connection's whole life. (The benchmark connects with
/// WebSockets and skips negotiation, so every request below /hubs is a connection.)
/// </summary>
public sealed class OpenConnections
{
    private int _count;

    public int Count => Volatile.Read(ref _count);

    public sealed class Middleware(RequestDelegate next, OpenConnections open)
    {
        public async Task InvokeAsync(HttpContext context)
        {
            if (!context.Request.Path.StartsWithSegments("/hubs"))
            {
                await next(context);
                return;
            }
            Interlocked.Increment(ref open._count);
            try
            {
                await next(context);
            }
            finally
            {
                Interlocked.Decrement(ref open._count);
            }
        }
    }
}
