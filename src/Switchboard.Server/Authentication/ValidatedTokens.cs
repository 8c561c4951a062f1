using System.Collections.Concurrent;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace Switchboard.Server.Authentication;

/// <summary>
/// Bearer tokens that passed full validation, remembered until they expire, so that a caller
/// who sends the same token with every request (a backend on the HTTP API; a SignalR client's
/// negotiate, connect and reconnects) pays for validating it once. Full validation (parsing,
/// the HMAC signature, issuer, audience, lifetime) was the largest part of an HTTP publish's
/// work and allocations (measured, docs/benchmarks.md).
/// <para>
/// A hit stands for the same answer full validation would give: the entry is keyed by the
/// SHA-256 of the exact token (a token that differs in any character is another key, and the
/// raw token is not kept), the signing key, issuer and audience are fixed for the life of the
/// process, and an entry is used only while its token is inside its lifetime plus
/// <see cref="JwtOptions.ClockSkew"/>, the same bound the validator applies. A token that
/// failed validation is never remembered. The cache holds at most <see cref="Capacity"/>
/// tokens, also under concurrent additions (they take a lock: an addition follows a full
/// validation, which costs far more); when full, expired ones are dropped, and if that is not
/// enough, all of them.
/// </para>
/// </summary>
public sealed class ValidatedTokens(IOptions<JwtOptions> options, TimeProvider time)
{
    /// <summary>Most tokens remembered at once (a few hundred bytes each).</summary>
    public const int Capacity = 10_000;

    private readonly ConcurrentDictionary<TokenHash, Entry> _entries = new();
    private readonly TimeSpan _clockSkew = options.Value.ClockSkew;
    private readonly Lock _addLock = new();
    private long _hits;

    private readonly record struct TokenHash(ulong A, ulong B, ulong C, ulong D);

    private sealed record Entry(ClaimsPrincipal Principal, DateTimeOffset ExpiresUtc, DateTimeOffset UsableUntil);

    /// <summary>Requests answered from the cache since the process started.</summary>
    public long Hits => Interlocked.Read(ref _hits);

    /// <summary>Tokens remembered now.</summary>
    public int Count => _entries.Count;

    /// <summary>For tests: whether this exact token is remembered (expired or not).</summary>
    internal bool IsRemembered(string token) => _entries.ContainsKey(Hash(token));

    /// <summary>
    /// The principal (a fresh copy of the slim one, <see cref="SwitchboardClaims.Slim"/>) and the
    /// expiry of a token validated before and still inside its lifetime; false otherwise.
    /// </summary>
    public bool TryGet(string token, string authenticationType, out ClaimsPrincipal principal, out DateTimeOffset expiresUtc)
    {
        var key = Hash(token);
        if (_entries.TryGetValue(key, out var entry))
        {
            if (time.GetUtcNow() <= entry.UsableUntil)
            {
                Interlocked.Increment(ref _hits);
                principal = SwitchboardClaims.Slim(entry.Principal, authenticationType);
                expiresUtc = entry.ExpiresUtc;
                return true;
            }
            _entries.TryRemove(KeyValuePair.Create(key, entry));
        }
        principal = null!;
        expiresUtc = default;
        return false;
    }

    /// <summary>Remembers a token that has just passed full validation, with its slim principal and its expiry (<c>exp</c>).</summary>
    public void Add(string token, ClaimsPrincipal slimPrincipal, DateTimeOffset expiresUtc)
    {
        var usableUntil = expiresUtc + _clockSkew;
        if (time.GetUtcNow() > usableUntil)
        {
            return;
        }
        var key = Hash(token);
        var entry = new Entry(slimPrincipal, expiresUtc, usableUntil);
        // Under the lock, the count checked is the count the addition makes room in: lookups and
        // their removals of expired entries only ever lower it.
        lock (_addLock)
        {
            if (_entries.Count >= Capacity && !_entries.ContainsKey(key))
            {
                Prune();
            }
            _entries[key] = entry;
        }
    }

    /// <summary>Makes room in a full cache; called under <see cref="_addLock"/>.</summary>
    private void Prune()
    {
        var now = time.GetUtcNow();
        foreach (var (key, entry) in _entries)
        {
            if (now > entry.UsableUntil)
            {
                _entries.TryRemove(key, out _);
            }
        }
        if (_entries.Count >= Capacity * 9 / 10)
        {
            _entries.Clear(); // only an optimisation: the next requests validate in full again
        }
    }

    private static TokenHash Hash(string token)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        var length = Encoding.UTF8.GetMaxByteCount(token.Length);
        byte[]? rented = null;
        var bytes = length <= 1024 ? stackalloc byte[length] : (rented = System.Buffers.ArrayPool<byte>.Shared.Rent(length));
        try
        {
            SHA256.HashData(bytes[..Encoding.UTF8.GetBytes(token, bytes)], hash);
        }
        finally
        {
            if (rented is not null)
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(rented);
            }
        }
        return new TokenHash(BitConverter.ToUInt64(hash), BitConverter.ToUInt64(hash[8..]), BitConverter.ToUInt64(hash[16..]), BitConverter.ToUInt64(hash[24..]));
    }
}
