using Switchboard.Server.Tests.Infrastructure;

namespace Switchboard.Server.Tests.Hostile;

/// <summary>
/// The server the hostile cases attack: the default limits on (invocation rate 50 per second,
/// bursts of 100, closed after 20 refusals in a row), a 2 second handshake timeout so the
/// handshake-less cases end quickly, and detailed errors off as in production.
/// </summary>
public class HostileServerBase(Dictionary<string, string?> extra) : SwitchboardFactoryWith(Settings(extra))
{
    private static Dictionary<string, string?> Settings(Dictionary<string, string?> extra)
    {
        var settings = new Dictionary<string, string?>
        {
            ["SignalR:HandshakeTimeout"] = "00:00:02",
            ["SignalR:EnableDetailedErrors"] = "false",
            ["Switchboard:Limits:InvocationsPerSecond"] = "50",
            ["Switchboard:AllowAnonymousHubs:0"] = "robust",
        };
        foreach (var (key, value) in extra) settings[key] = value;
        return settings;
    }

    public Task<Control> ControlAsync() => Control.StartAsync(id => Token(id), (hub, token) => Hub(hub, token));

    public Task<RawWebSocket> RawAsync(string hub = Contracts.HubRoutes.Chat, string user = "mallory", bool negotiate = true) =>
        RawWebSocket.ConnectAsync(BaseUrl, hub, Token(user), negotiate);
}

public sealed class HostileServer() : HostileServerBase([]);

/// <summary>
/// For floods: bursts of 100 refilled at 1 per second, so however slowly a loaded machine works
/// through a flood, the refill cannot keep a flooder under the limit.
/// </summary>
public sealed class FloodServer() : HostileServerBase(new() { ["Switchboard:Limits:InvocationsPerSecond"] = "1" });
