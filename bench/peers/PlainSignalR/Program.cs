// The guide's plain SignalR server ("How to Set Up SignalR in ASP.NET Core"), as a user following
// it would deploy it: its ChatHub, NotificationHub and SecureChatHub, its JWT setup and its
// NotificationsController, sending straight through Clients with no history. It is the
// baseline of bench/ and nothing else: the only additions are the MessagePack protocol (the
// benchmark measures both protocols), a group route on the controller (the guide's
// NotificationService already has SendToGroupAsync), GET /stats for the benchmark's counts, and
// the guide's Redis backplane switched on by ConnectionStrings:Redis (two-process scenario).
using System.Text;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.IdentityModel.Tokens;
using PlainSignalR;
using StackExchange.Redis;

var builder = WebApplication.CreateBuilder(args);

var signalR = builder.Services.AddSignalR(options =>
{
    options.EnableDetailedErrors = builder.Environment.IsDevelopment();
    options.MaximumReceiveMessageSize = 32 * 1024; // 32KB
    options.StreamBufferCapacity = 10;
    options.KeepAliveInterval = TimeSpan.FromSeconds(15);
    options.ClientTimeoutInterval = TimeSpan.FromSeconds(30);
}).AddMessagePackProtocol();
if (builder.Configuration.GetConnectionString("Redis") is { Length: > 0 } redis)
{
    signalR.AddStackExchangeRedis(redis, options =>
    {
        options.Configuration.ChannelPrefix = RedisChannel.Literal("MyApp");
    });
}

builder.Services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme)
    .AddJwtBearer(options =>
    {
        options.TokenValidationParameters = new TokenValidationParameters
        {
            ValidateIssuer = true,
            ValidateAudience = true,
            ValidateLifetime = true,
            ValidateIssuerSigningKey = true,
            ValidIssuer = builder.Configuration["Jwt:Issuer"],
            ValidAudience = builder.Configuration["Jwt:Audience"],
            IssuerSigningKey = new SymmetricSecurityKey(Encoding.UTF8.GetBytes(builder.Configuration["Jwt:Key"]!)),
        };
        options.Events = new JwtBearerEvents
        {
            OnMessageReceived = context =>
            {
                var accessToken = context.Request.Query["access_token"];
                var path = context.HttpContext.Request.Path;
                if (!string.IsNullOrEmpty(accessToken) && path.StartsWithSegments("/hubs"))
                {
                    context.Token = accessToken;
                }
                return Task.CompletedTask;
            },
        };
    });
builder.Services.AddAuthorization();
builder.Services.AddControllers();
builder.Services.AddSingleton<NotificationService>();
builder.Services.AddSingleton<OpenConnections>();

var app = builder.Build();

app.UseAuthentication();
app.UseAuthorization();
app.UseMiddleware<OpenConnections.Middleware>();

app.MapHub<ChatHub>("/hubs/chat");
app.MapHub<NotificationHub>("/hubs/notifications");
app.MapHub<SecureChatHub>("/hubs/secure-chat");
app.MapControllers();
app.MapGet("/stats", (OpenConnections open) =>
{
    var gc = GC.GetGCMemoryInfo();
    return Results.Ok(new { connections = open.Count, heapBytes = gc.HeapSizeBytes, workingSetBytes = Environment.WorkingSet });
});

app.Run();
