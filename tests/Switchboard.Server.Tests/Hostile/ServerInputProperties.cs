using System.Text;
using CsCheck;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Switchboard.Contracts;
using Switchboard.Server.Api;
using Switchboard.Server.Authentication;
using Switchboard.Server.Hosting;
using Switchboard.Server.Hubs;
using Switchboard.Server.Tests.Infrastructure;

namespace Switchboard.Server.Tests.Hostile;

/// <summary>
/// Property tests of the server's own parsers and validators, over generated hostile input:
/// recovery positions, the settings validators, the token command's durations, the HTTP API's
/// JSON body reader and log redaction. (The Core rules are in Switchboard.Core.Tests/Properties;
/// these are internal to the server, so they live beside the tests that can see them.)
/// 10,000 cases each; <c>CsCheck_Iter</c> sets another count (docs/security.md).
/// </summary>
public sealed class ServerInputProperties
{
    private static long Iter => long.TryParse(Environment.GetEnvironmentVariable("CsCheck_Iter"), out var n) && n > 0 ? n : 10_000;

    private static readonly Gen<long> Longs = Gen.Frequency((3, Gen.Long[-1_000, 1_000_000]), (1, Gen.OneOf(long.MinValue, -1L, 0L, 1L, long.MaxValue)));
    private static readonly Gen<int> Ints = Gen.Frequency((3, Gen.Int[-1_000, 20_000]), (1, Gen.OneOf(int.MinValue, -1, 0, 1, int.MaxValue)));

    [Fact]
    public void RecoveryPositionsAreRefusedExactlyWhenOutOfRangeAndLargePageLimitsAreClamped() =>
        Gen.Select(Longs, Ints, Ints, Gen.Int[1, 10_000]).Sample((offset, history, limit, maxMessages) =>
        {
            var limits = new RecoveryOptions { MaxMessages = maxMessages, MaxHistory = Math.Min(100, maxMessages) };
            var subscribe = RecoveryRules.CheckSubscribe(new SubscribeRequest { Offset = offset, History = history }, limits);
            var page = RecoveryRules.CheckPage(offset, limit);

            Assert.Equal(offset >= 0 && history >= 0 && history <= limits.MaxHistory, subscribe is null);
            // A limit above MaxMessages is not refused: the page is served with MaxMessages at most.
            Assert.Equal(offset >= 0 && limit >= 1, page is null);
            if (page is null) Assert.Equal(Math.Min(limit, maxMessages), RecoveryRules.PageLimit(limit, limits));
            Assert.All(new[] { subscribe, page }.OfType<SwitchboardError>(), e => Assert.Equal(ErrorCodes.PositionInvalid, e.Code));
        }, iter: Iter);

    [Fact]
    public void LimitsAreRefusedExactlyWhenOutOfTheirDocumentedRanges() =>
        Gen.Select(Gen.Select(Gen.Double[-10, 1_000], Ints, Ints, Gen.Double[-10, 1_000]),
                Gen.Select(Ints, Ints, Ints, Ints), Gen.Frequency((3, Gen.Long[-10, 2_000_000_000]), (1, Gen.OneOf(0L, 16_383L, 16_384L, 1L << 30, (1L << 30) + 1))))
            .Sample(t =>
            {
                var ((rate, burst, violations, httpRate), (httpBurst, perUser, groups, body), queue) = t;
                var o = new SwitchboardOptions
                {
                    Limits = new LimitsOptions
                    {
                        InvocationsPerSecond = rate, InvocationBurst = burst, ViolationsBeforeClose = violations,
                        HttpRequestsPerSecond = httpRate, HttpBurst = httpBurst, MaxConnectionsPerUser = perUser,
                        MaxGroupsPerConnection = groups, MaxRequestBodyBytes = body, MaxOutboundQueueBytes = queue,
                    },
                };
                var failures = new SwitchboardOptionsValidator().Validate(null, o).Failures ?? [];

                var expected = new List<string>();
                if (rate < 0) expected.Add("InvocationsPerSecond");
                if (burst < 1) expected.Add("InvocationBurst");
                if (violations < 1) expected.Add("ViolationsBeforeClose");
                if (httpRate < 0) expected.Add("HttpRequestsPerSecond");
                if (httpBurst < 1) expected.Add("HttpBurst");
                if (perUser < 0) expected.Add("MaxConnectionsPerUser");
                if (groups < 1) expected.Add("MaxGroupsPerConnection");
                if (body is < 1024 or > 16 * 1024 * 1024) expected.Add("MaxRequestBodyBytes");
                if (queue != 0 && queue is < 16 * 1024 or > 1L << 30) expected.Add("MaxOutboundQueueBytes");
                Assert.Equal(expected.Select(e => "Switchboard:Limits:" + e).Order(), failures.Select(f => f.Split(' ')[0]).Order());
            }, iter: Iter);

    [Fact]
    public void SignalRSettingsAreRefusedExactlyWhenOutOfTheirDocumentedRanges() =>
        Gen.Select(Longs, Ints, Gen.Long[-100_000_000, 1_000_000_000], Gen.Long[-100_000_000, 1_000_000_000],
                Gen.Frequency((4, Gen.Long[-100_000_000, 1_000_000_000]), (1, Gen.Long[TimeSpan.TicksPerDay - 1_000, 100 * TimeSpan.TicksPerDay])))
            .Sample((size, buffer, keepAlive, timeout, handshake) =>
            {
                var o = new SignalRSettings
                {
                    MaximumReceiveMessageSize = size, StreamBufferCapacity = buffer, KeepAliveInterval = TimeSpan.FromTicks(keepAlive),
                    ClientTimeoutInterval = TimeSpan.FromTicks(timeout), HandshakeTimeout = TimeSpan.FromTicks(handshake),
                };
                var failures = new SignalRSettingsValidator().Validate(null, o).Failures ?? [];

                var expected = new List<string>();
                if (size is < 1024 or > 16 * 1024 * 1024) expected.Add("MaximumReceiveMessageSize");
                if (buffer is < 1 or > 10_000) expected.Add("StreamBufferCapacity");
                if (keepAlive <= 0) expected.Add("KeepAliveInterval");
                if (timeout <= keepAlive) expected.Add("ClientTimeoutInterval");
                if (handshake <= 0 || handshake > TimeSpan.TicksPerDay) expected.Add("HandshakeTimeout");
                Assert.Equal(expected.Select(e => "SignalR:" + e).Order(), failures.Select(f => f.Split(' ')[0]).Order());
            }, iter: Iter);

    [Fact]
    public void TokenLifetimesParseExactlyTheDocumentedForms()
    {
        var forms = Gen.Frequency(
            (3, Gen.Select(Gen.Long[-5, 40_000_000], Gen.OneOf("", "s", "m", "h", "d"), (n, unit) => $"{n}{unit}")),
            (1, Gen.String[Gen.Char["0123456789smhdSMHD+-. x\u0660"], 0, 12]),
            (1, Gen.String));
        forms.Sample(text =>
        {
            TimeSpan? parsed;
            try { parsed = TokenCommand.ParseDuration(text); }
            catch (Exception e) when (e.Message.StartsWith("--expires '", StringComparison.Ordinal)) { parsed = null; }

            var unit = text.Length > 0 ? text[^1] : ' ';
            var multiplier = unit switch { 's' => 1L, 'm' => 60L, 'h' => 3600L, 'd' => 86400L, _ => 1L };
            var digits = unit is 's' or 'm' or 'h' or 'd' ? text[..^1] : text;
            // Only ASCII digits: no sign, no spaces, no other scripts' digits.
            var n = digits.Length is > 0 and < 19 && digits.All(char.IsAsciiDigit) ? long.Parse(digits) : (long?)null;
            var expected = n is > 0 && n * multiplier <= 366L * 86400 ? TimeSpan.FromSeconds(n.Value * multiplier) : (TimeSpan?)null;
            Assert.Equal(expected, parsed);
        }, iter: Iter);
    }

    [Fact]
    public void TheApiBodyReaderAnswersEveryBodyWithAValueOrACodedRefusal()
    {
        var bodies = Gen.Frequency(
            (2, Gen.String.Select(s => Encoding.UTF8.GetBytes(s))),
            (2, Gen.String[Gen.Char["\"\\{}[]:,0123456789abcnultrefs \u0000\u001e"], 0, 40].Select(s => Encoding.UTF8.GetBytes(s))),
            (1, Gen.Byte.Array[0, 64]),
            (1, Gen.Int[1020, 1100].Select(n => Encoding.UTF8.GetBytes("\"" + new string('a', n) + "\""))));
        var types = Gen.OneOf("application/json", "application/json; charset=utf-8", "text/plain", "", "application/problem+json", "application/jsonx");
        Gen.Select(bodies, types, Gen.Bool).Sample((body, type, declareLength) =>
        {
            var context = new DefaultHttpContext();
            context.Request.Body = new MemoryStream(body);
            context.Request.ContentType = type.Length == 0 ? null : type;
            if (declareLength) context.Request.ContentLength = body.Length;

            var (value, error) = ApiProblems.ReadJsonAsync<string>(context.Request, 1024, "a JSON string", "\"Hello\"", default).GetAwaiter().GetResult();

            Assert.True(value is null ^ error is null);
            if (error is not null) Assert.Contains(error.Code, new[] { ErrorCodes.BodyInvalid, ErrorCodes.BodyTooLarge });
            // Without a declared length only Kestrel's body stream enforces the size (HttpLimitsTests); here it is declared.
            if (value is not null && declareLength) Assert.True(body.Length <= 1024);
        }, iter: Iter);
    }

    private static readonly string[] Tokens = Enumerable.Range(0, 4).Select(i =>
        new TokenIssuer(Options.Create(new JwtOptions { Key = SwitchboardFactory.TestKey }), TimeProvider.System)
            .Issue($"user{i}", $"User {i}", i % 2 == 0 ? ["Admin"] : null)).ToArray();

    [Fact]
    public void RedactionRemovesEveryTokenWhereverItSitsAndIsStable()
    {
        var noise = Gen.String[Gen.Frequency((6, Gen.Char), (1, Gen.Char["&=?/ \"'\n"])), 0, 60];
        var frames = Gen.OneOf("{0}", "access_token={0}", "?access_token={0}&x=1", "Bearer {0}", "bearer  {0}", "\"{0}\"", "token:{0}.", "{0}{0}");
        Gen.Select(noise, frames, Gen.Int[0, Tokens.Length - 1], noise).Sample((before, frame, which, after) =>
        {
            var token = Tokens[which];
            var text = before + string.Format(frame, token) + after;

            var redacted = Switchboard.Server.Hosting.LogRedaction.Redact(text);

            Assert.DoesNotContain(token, redacted);
            Assert.DoesNotContain(token.Split('.')[1], redacted); // not even the claims
            Assert.Equal(redacted, Switchboard.Server.Hosting.LogRedaction.Redact(redacted));
        }, iter: Iter);
    }
}
