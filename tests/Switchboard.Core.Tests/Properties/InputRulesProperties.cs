using System.Text.RegularExpressions;
using CsCheck;
using Switchboard.Contracts;
using Switchboard.Core.Validation;

namespace Switchboard.Core.Tests.Properties;

/// <summary>
/// Every rule of <see cref="InputRules"/> against an independent statement of it (a regular
/// expression or plain reading of docs/protocol.md), over generated hostile input. Refusals
/// never echo the input: the sentence is the same for every bad value.
/// </summary>
public sealed partial class InputRulesProperties
{
    // \A and \z, not ^ and $: '$' also matches before a final newline (the million-case run caught that in this oracle).
    [GeneratedRegex(@"\A[A-Za-z0-9._:@-]{1,128}\z")]
    private static partial Regex NameRule();

    [GeneratedRegex(@"\A[A-Za-z0-9._:@-]{1,64}\z")]
    private static partial Regex MessageIdRule();

    private static void SameSentenceForEveryRefusal(SwitchboardError? error, string code, string sentence)
    {
        if (error is null) return;
        Assert.Equal(code, error.Code);
        Assert.Equal(sentence, error.Message);
    }

    [Fact]
    public void GroupNamesAreAcceptedExactlyWhenTheRuleSaysSo() =>
        Fuzz.Names(InputRules.MaxGroupNameLength).Sample(name =>
        {
            var error = InputRules.CheckGroupName(name);
            var wellFormed = name is not null && NameRule().IsMatch(name);
            var reserved = wellFormed && name!.StartsWith("user:", StringComparison.OrdinalIgnoreCase);
            Assert.Equal(wellFormed && !reserved, error is null);
            if (!wellFormed) SameSentenceForEveryRefusal(error, ErrorCodes.GroupNameInvalid,
                "Group names are 1 to 128 characters: letters, digits and . _ - : @.");
            if (reserved) SameSentenceForEveryRefusal(error, ErrorCodes.GroupNameReserved,
                "Group names starting with 'user:' are reserved for the server.");
        }, iter: Fuzz.Iter);

    [Fact]
    public void UserIdsAreAcceptedExactlyWhenTheRuleSaysSo() =>
        Fuzz.Names(InputRules.MaxUserIdLength).Sample(id =>
        {
            var error = InputRules.CheckUserId(id);
            Assert.Equal(id is not null && NameRule().IsMatch(id), error is null);
            SameSentenceForEveryRefusal(error, ErrorCodes.UserIdInvalid,
                "User ids are 1 to 128 characters: letters, digits and . _ - : @.");
        }, iter: Fuzz.Iter);

    [Fact]
    public void APrivateGroupNameIsAlwaysReservedAndNeverJoinable() =>
        Fuzz.Names(InputRules.MaxUserIdLength).Where(id => InputRules.CheckUserId(id) is null).Sample(id =>
        {
            var group = InputRules.UserGroup(id!);
            Assert.StartsWith(InputRules.ReservedUserPrefix, group);
            Assert.NotNull(InputRules.CheckGroupName(group));
        }, iter: Fuzz.Iter);

    [Fact]
    public void MessageIdsAreAcceptedExactlyWhenTheRuleSaysSo() =>
        Fuzz.Names(InputRules.MaxMessageIdLength).Sample(id =>
        {
            var error = InputRules.CheckMessageId(id);
            Assert.Equal(id is not null && MessageIdRule().IsMatch(id), error is null);
            SameSentenceForEveryRefusal(error, ErrorCodes.MessageIdInvalid,
                "Message ids are 1 to 64 characters: letters, digits and . _ - : @.");
        }, iter: Fuzz.Iter);

    [Fact]
    public void UserNamesAreAcceptedExactlyWhenPrintableAndNotBlank() =>
        Fuzz.Text(InputRules.MaxUserNameLength).Sample(name =>
        {
            var error = InputRules.CheckUserName(name);
            var ok = name is not null && name.Length <= 100 && name.Any(c => !char.IsWhiteSpace(c)) &&
                     !name.Any(c => c < ' ' || c == '\u007f');
            Assert.Equal(ok, error is null);
            SameSentenceForEveryRefusal(error, ErrorCodes.UserNameInvalid,
                "User names are 1 to 100 printable characters and not only whitespace.");
        }, iter: Fuzz.Iter);

    [Fact]
    public void MessagesAreAcceptedExactlyWhenNotBlankAndWithinTheLimit() =>
        Gen.Select(Fuzz.Text(300), Gen.Int[1, 300]).Sample((message, max) =>
        {
            var error = InputRules.CheckMessage(message, max);
            var blank = message is null || message.All(char.IsWhiteSpace);
            Assert.Equal(!blank && message!.Length <= max, error is null);
            if (blank) SameSentenceForEveryRefusal(error, ErrorCodes.MessageEmpty, "Message cannot be empty.");
            else SameSentenceForEveryRefusal(error, ErrorCodes.MessageTooLong, $"Message is longer than {max} characters.");
        }, iter: Fuzz.Iter);
}
