using System.Security.Claims;
using Microsoft.Extensions.Options;
using Switchboard.Server.Authentication;
using Switchboard.Server.Tests.Infrastructure;

namespace Switchboard.Server.Tests;

/// <summary>The cache of validated tokens on its own: the same answer as full validation, never longer.</summary>
public sealed class ValidatedTokensTests
{
    private sealed class ManualTime(DateTimeOffset start) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = start;
        public override DateTimeOffset GetUtcNow() => Now;
    }

    private static readonly DateTimeOffset Start = new(2026, 12, 2, 12, 0, 0, TimeSpan.Zero);

    private static (ValidatedTokens Cache, ManualTime Time) Create(TimeSpan clockSkew)
    {
        var time = new ManualTime(Start);
        return (new ValidatedTokens(Options.Create(new JwtOptions { Key = "k", ClockSkew = clockSkew }), time), time);
    }

    private static ClaimsPrincipal Principal(string user) =>
        new(new ClaimsIdentity([new Claim("sub", user), new Claim("name", user.ToUpperInvariant()), new Claim("role", "Publisher")], "Bearer", "name", "role"));

    [Fact]
    public void ATokenIsAnsweredUntilItsExpiryPlusTheClockSkewAndNotAfter()
    {
        var (cache, time) = Create(TimeSpan.FromSeconds(30));
        var expires = Start.AddMinutes(10);
        cache.Add("token-a", Principal("ann"), expires);

        time.Now = expires.AddSeconds(30); // the validator's own bound: exp + skew
        Assert.True(cache.TryGet("token-a", "Bearer", out var principal, out var expiresUtc));
        Assert.Equal("ann", principal.UserId());
        Assert.Equal(expires, expiresUtc);

        time.Now = expires.AddSeconds(30).AddTicks(1);
        Assert.False(cache.TryGet("token-a", "Bearer", out _, out _));
        Assert.False(cache.IsRemembered("token-a")); // dropped once found expired
    }

    [Fact]
    public void AnExpiredTokenIsNotRemembered()
    {
        var (cache, time) = Create(TimeSpan.Zero);
        cache.Add("token-old", Principal("ann"), Start.AddTicks(-1));
        Assert.False(cache.IsRemembered("token-old"));
        Assert.False(cache.TryGet("token-old", "Bearer", out _, out _));
        _ = time;
    }

    [Fact]
    public void OnlyTheExactTokenIsFound()
    {
        var (cache, _) = Create(TimeSpan.Zero);
        cache.Add("header.payload.signature", Principal("ann"), Start.AddHours(1));

        Assert.False(cache.TryGet("header.payload.signaturf", "Bearer", out _, out _));
        Assert.False(cache.TryGet("header.payload.signature ", "Bearer", out _, out _));
        Assert.False(cache.TryGet("HEADER.payload.signature", "Bearer", out _, out _));
        Assert.True(cache.TryGet("header.payload.signature", "Bearer", out _, out _));
        Assert.Equal(1, cache.Hits);
    }

    [Fact]
    public void EveryHitGetsItsOwnPrincipalWithTheSameClaims()
    {
        var (cache, _) = Create(TimeSpan.Zero);
        var original = Principal("bob");
        cache.Add("token-b", original, Start.AddHours(1));

        Assert.True(cache.TryGet("token-b", "Bearer", out var first, out _));
        Assert.True(cache.TryGet("token-b", "Bearer", out var second, out _));

        Assert.NotSame(first, second);
        Assert.NotSame(original, first);
        Assert.Equal(["name", "role", "sub"], first.Claims.Select(c => c.Type).Order());
        Assert.Equal("BOB", first.Identity!.Name);
        Assert.True(first.Identity.IsAuthenticated);
        Assert.True(second.IsInRole("Publisher"));
    }

    [Fact]
    public void TheCacheNeverHoldsMoreThanItsCapacity()
    {
        var (cache, time) = Create(TimeSpan.Zero);
        // Half of them expire soon: a full cache drops those first.
        for (var i = 0; i < ValidatedTokens.Capacity; i++)
        {
            cache.Add($"token-{i}", Principal("u"), i % 2 == 0 ? Start.AddSeconds(1) : Start.AddHours(1));
        }
        Assert.Equal(ValidatedTokens.Capacity, cache.Count);

        time.Now = Start.AddSeconds(2);
        cache.Add("one-more", Principal("u"), Start.AddHours(1));

        Assert.Equal(ValidatedTokens.Capacity / 2 + 1, cache.Count);
        Assert.True(cache.IsRemembered("token-1") && cache.IsRemembered("one-more"));
        Assert.False(cache.IsRemembered("token-0"));

        // Full of live tokens: it starts again rather than grow.
        for (var i = 0; i < ValidatedTokens.Capacity; i++)
        {
            cache.Add($"live-{i}", Principal("u"), Start.AddHours(1));
        }
        Assert.True(cache.Count <= ValidatedTokens.Capacity, $"{cache.Count} tokens remembered");
    }

    [Fact]
    public void AdditionsRacingForTheLastPlaceNeverTakeTheCachePastItsCapacity()
    {
        // As many racers as cores, each spinning on the start flag, so that they add at the same moment.
        var racers = Math.Max(2, Environment.ProcessorCount);
        for (var round = 0; round < 50; round++)
        {
            var (cache, _) = Create(TimeSpan.Zero);
            for (var i = 0; i < ValidatedTokens.Capacity - 1; i++)
            {
                cache.Add($"token-{i}", Principal("u"), Start.AddHours(1));
            }
            // One place left.
            var ready = 0;
            var go = 0;
            var threads = Enumerable.Range(0, racers).Select(r => new Thread(() =>
            {
                Interlocked.Increment(ref ready);
                var spin = new SpinWait();
                while (Volatile.Read(ref go) == 0) spin.SpinOnce(sleep1Threshold: -1);
                cache.Add($"racer-{r}", Principal("u"), Start.AddHours(1));
            })).ToList();
            threads.ForEach(t => t.Start());
            var waited = System.Diagnostics.Stopwatch.StartNew();
            while (Volatile.Read(ref ready) < racers && waited.Elapsed < TestTimeouts.Network) Thread.Yield();
            Volatile.Write(ref go, 1);
            Assert.All(threads, t => Assert.True(t.Join(TestTimeouts.Network)));

            Assert.True(cache.Count <= ValidatedTokens.Capacity, $"round {round}: {cache.Count} tokens remembered");
        }
    }
}
