using CsCheck;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Switchboard.Core.History;

namespace Switchboard.Core.Tests.Properties;

/// <summary>The start-up validation of <c>Switchboard:History</c> against the ranges docs/configuration.md states.</summary>
public sealed class HistoryOptionsProperties
{
    private static readonly IValidateOptions<HistoryOptions> Validator =
        new ServiceCollection().AddSqliteHistory().BuildServiceProvider().GetServices<IValidateOptions<HistoryOptions>>().Single();

    private static readonly Gen<TimeSpan> Spans = Gen.Frequency(
        (3, Gen.Long[-10_000_000_000, 10_000_000_000].Select(TimeSpan.FromTicks)),
        (1, Gen.OneOf(TimeSpan.Zero, TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(9.999), TimeSpan.FromDays(1),
            TimeSpan.FromDays(1) + TimeSpan.FromTicks(1), TimeSpan.MaxValue, TimeSpan.MinValue)));

    [Fact]
    public void SettingsAreRefusedExactlyWhenOutOfTheirDocumentedRanges() =>
        Gen.Select(Gen.Int[-5, 200_000], Spans, Spans, Spans, Gen.Int[-5, 200_000], Fuzz.Text(10)).Sample(
            (maxMessages, maxAge, trim, window, batch, file) =>
            {
                var options = new HistoryOptions
                {
                    MaxMessagesPerGroup = maxMessages, MaxAge = maxAge, TrimInterval = trim, IdempotencyWindow = window,
                    MaxBatchSize = batch, FileName = file ?? "",
                };
                var result = Validator.Validate(null, options);

                var expected = new List<string>();
                if (string.IsNullOrWhiteSpace(options.FileName) || options.FileName.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0) expected.Add("FileName");
                if (maxMessages < 1) expected.Add("MaxMessagesPerGroup");
                if (maxAge <= TimeSpan.Zero) expected.Add("MaxAge");
                if (trim < TimeSpan.FromMilliseconds(10) || trim > TimeSpan.FromDays(1)) expected.Add("TrimInterval");
                if (window < TimeSpan.Zero) expected.Add("IdempotencyWindow");
                if (batch is < 1 or > 100_000) expected.Add("MaxBatchSize");
                var named = (result.Failures ?? []).Select(f => f.Split(' ')[0]).ToList();
                Assert.Equal(expected.Select(e => "Switchboard:History:" + e), named);
            }, iter: Fuzz.Iter);
}
