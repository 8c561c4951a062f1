using System.Text;
using Microsoft.Extensions.Options;

namespace Switchboard.Server.Authentication;

/// <summary>
/// JWT settings, bound from the <c>Jwt</c> section. Tokens are HS256-signed with
/// <see cref="Key"/>; issuer, audience, lifetime and signature are always validated.
/// </summary>
public sealed class JwtOptions
{
    public const string Section = "Jwt";

    /// <summary>
    /// The development signing key, documented in <c>docs/configuration.md</c> and set only by
    /// <c>appsettings.Development.json</c>. Refused in every other environment.
    /// </summary>
    public const string DevelopmentKey = "switchboard-development-signing-key-not-for-production";

    /// <summary>Expected <c>iss</c>. Default <c>switchboard</c>.</summary>
    public string Issuer { get; set; } = "switchboard";

    /// <summary>Expected <c>aud</c>. Default <c>switchboard</c>.</summary>
    public string Audience { get; set; } = "switchboard";

    /// <summary>HMAC-SHA256 signing key, at least 32 bytes of UTF-8. No default outside Development.</summary>
    public string? Key { get; set; }

    /// <summary>Tolerated clock difference when checking <c>exp</c> and <c>nbf</c>. Default 30 seconds.</summary>
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Lifetime of tokens minted by the <c>token</c> command when <c>--expires</c> is not given. Default 1 hour.</summary>
    public TimeSpan TokenLifetime { get; set; } = TimeSpan.FromHours(1);

    public byte[] KeyBytes() => Encoding.UTF8.GetBytes(Key ?? "");
}

internal sealed class JwtOptionsValidator(IHostEnvironment environment) : IValidateOptions<JwtOptions>
{
    public ValidateOptionsResult Validate(string? name, JwtOptions options)
    {
        var failures = new List<string>();
        if (string.IsNullOrEmpty(options.Key))
        {
            failures.Add("Jwt:Key is not set. Set a signing key of at least 32 bytes (for example the environment variable Jwt__Key); only the Development environment has a default.");
        }
        else if (options.KeyBytes().Length < 32)
        {
            failures.Add("Jwt:Key is shorter than 32 bytes; HS256 needs a key of at least 256 bits.");
        }
        else if (options.Key == JwtOptions.DevelopmentKey && !environment.IsDevelopment())
        {
            failures.Add($"Jwt:Key is the published development key, which is refused in the '{environment.EnvironmentName}' environment. Set a secret key.");
        }
        if (string.IsNullOrWhiteSpace(options.Issuer)) failures.Add("Jwt:Issuer must not be empty.");
        if (string.IsNullOrWhiteSpace(options.Audience)) failures.Add("Jwt:Audience must not be empty.");
        if (options.ClockSkew < TimeSpan.Zero || options.ClockSkew > TimeSpan.FromMinutes(5))
            failures.Add("Jwt:ClockSkew must be between 00:00:00 and 00:05:00.");
        // As the token command's --expires: a lifetime of millions of days overflowed the expiry
        // date, and the token command and /dev/token failed with an exception.
        if (options.TokenLifetime <= TimeSpan.Zero || options.TokenLifetime > TimeSpan.FromDays(366))
            failures.Add("Jwt:TokenLifetime must be positive and at most 366.00:00:00.");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
