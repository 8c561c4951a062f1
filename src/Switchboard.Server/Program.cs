using Switchboard.Server.Api;
using Switchboard.Server.Authentication;
using Switchboard.Server.Hosting;
using Switchboard.Server.Hubs;
using Switchboard.Server.Web;

if (TokenCommand.IsInvoked(args, out var tokenArgs))
{
    return TokenCommand.Run(tokenArgs);
}

var builder = WebApplication.CreateBuilder(args);

builder.UseDefaultAddress("http://127.0.0.1:5080");
builder.AddConnectionCeiling();
builder.AddTokenRedaction();
builder.AddSwitchboardAuthentication();
builder.AddSwitchboardHubs();
builder.AddSwitchboardApi();
builder.AddSwitchboardHealth();
builder.AddSwitchboardMetrics();
builder.AddSwitchboardScaleOut();
builder.AddSwitchboardWeb();

var app = builder.Build();
if (!app.SettingsAreValid())
{
    return 1;
}

app.UseExceptionHandler();
app.UseRetryAfterOnUnavailable();
app.UseConnectionCeiling();
app.UseShutdownGate();
app.UseStatusCodePages();
app.UseHubOriginCheck();
app.UseAuthentication();
// Before authorization: a request without a valid token is limited (by address) before it is refused.
app.UseRateLimiter();
app.UseAuthorization();

app.MapSwitchboardHubs();
app.MapSwitchboardApi();
app.MapSwitchboardHealth();
app.MapSwitchboardMetrics();
app.MapSwitchboardWeb();

app.Run();
return 0;

/// <summary>The entry point, visible to <c>WebApplicationFactory&lt;Program&gt;</c> in tests.</summary>
public partial class Program;
