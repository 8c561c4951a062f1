using CsCheck;

namespace Switchboard.Core.Tests.Properties;

/// <summary>
/// Shared generators and the iteration count of the property tests. The normal suite runs
/// 10,000 cases per property; the long fuzz run sets <c>CsCheck_Iter</c> (docs/security.md).
/// </summary>
public static class Fuzz
{
    /// <summary>Cases per property: <c>CsCheck_Iter</c> when set, else 10,000.</summary>
    public static long Iter => long.TryParse(Environment.GetEnvironmentVariable("CsCheck_Iter"), out var n) && n > 0 ? n : 10_000;

    public const string NameChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-:@";

    /// <summary>Characters attackers like: controls, separators, wildcards, slashes, quotes, '$', surrogates, non-ASCII letters.</summary>
    public const string NastyChars = "\u0000\u0001\t\n\r\u001e\u001f\u007f \u00a0\u2028\u200b*?#>/\\\"'$%&+=,;!~`^|<{}[]()éßİıΩ中\ud83d\ude00\ud800\udfff";

    /// <summary>
    /// Strings shaped like the input a name validator meets: mostly allowed characters, sometimes
    /// a nasty one, sometimes the reserved prefix in any case, sometimes anything at all, lengths
    /// around the limits, and null.
    /// </summary>
    public static Gen<string?> Names(int around)
    {
        var allowed = Gen.String[Gen.Char[NameChars], 0, around + 8];
        var mixed = Gen.String[Gen.Frequency((8, Gen.Char[NameChars]), (1, Gen.Char[NastyChars])), 0, around + 8];
        var prefixed = Gen.Select(Gen.OneOf("user:", "USER:", "User:", "uSeR:", "user", "users:", "user;"), allowed, (p, s) => p + s);
        var atLimit = Gen.Select(Gen.Int[around - 2, around + 2], Gen.Char[NameChars], (n, c) => new string(c, Math.Max(0, n)));
        var anything = Gen.String[Gen.Char, 0, around + 8];
        return Gen.Frequency(
            (4, allowed.Select(s => (string?)s)),
            (3, mixed.Select(s => (string?)s)),
            (2, prefixed.Select(s => (string?)s)),
            (1, atLimit.Select(s => (string?)s)),
            (2, anything.Select(s => (string?)s)),
            (1, Gen.Const<string?>(() => null)));
    }

    /// <summary>Free text: any characters, whitespace-only strings, lengths around <paramref name="around"/>, null.</summary>
    public static Gen<string?> Text(int around) => Gen.Frequency(
        (4, Gen.String[Gen.Char, 0, around + 8].Select(s => (string?)s)),
        (2, Gen.String[Gen.Char[" \t\r\n\u00a0\u2028\u3000"], 0, 20].Select(s => (string?)s)),
        (2, Gen.String[Gen.Frequency((8, Gen.Char[NameChars]), (2, Gen.Char[NastyChars])), 0, around + 8].Select(s => (string?)s)),
        (1, Gen.Const<string?>(() => null)));
}
