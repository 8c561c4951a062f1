using Switchboard.Contracts;
using Switchboard.Core.Validation;

namespace Switchboard.Core.Tests;

public sealed class InputRulesTests
{
    [Theory]
    [InlineData("general")]
    [InlineData("room-1.eu_west:x@y")]
    public void GoodGroupNamesPass(string name) => Assert.Null(InputRules.CheckGroupName(name));

    [Theory]
    [InlineData(null, ErrorCodes.GroupNameInvalid)]
    [InlineData("", ErrorCodes.GroupNameInvalid)]
    [InlineData("a b", ErrorCodes.GroupNameInvalid)]
    [InlineData("a/b", ErrorCodes.GroupNameInvalid)]
    [InlineData("a*", ErrorCodes.GroupNameInvalid)]
    [InlineData("tab\t", ErrorCodes.GroupNameInvalid)]
    [InlineData("ünïcode", ErrorCodes.GroupNameInvalid)]
    [InlineData("user:x", ErrorCodes.GroupNameReserved)]
    [InlineData("User:x", ErrorCodes.GroupNameReserved)]
    public void BadGroupNamesFailWithTheirCode(string? name, string code) =>
        Assert.Equal(code, InputRules.CheckGroupName(name)?.Code);

    [Fact]
    public void GroupNamesAreAtMost128Characters()
    {
        Assert.Null(InputRules.CheckGroupName(new string('g', 128)));
        Assert.Equal(ErrorCodes.GroupNameInvalid, InputRules.CheckGroupName(new string('g', 129))?.Code);
    }

    [Theory]
    [InlineData(null, ErrorCodes.MessageEmpty)]
    [InlineData("", ErrorCodes.MessageEmpty)]
    [InlineData(" \t\n", ErrorCodes.MessageEmpty)]
    [InlineData("12345678901", ErrorCodes.MessageTooLong)]
    public void BadMessagesFailWithTheirCode(string? message, string code) =>
        Assert.Equal(code, InputRules.CheckMessage(message, maxLength: 10)?.Code);

    [Theory]
    [InlineData("bell\u0007")]
    [InlineData("   ")]
    public void UserNamesMustBePrintable(string name) =>
        Assert.Equal(ErrorCodes.UserNameInvalid, InputRules.CheckUserName(name)?.Code);
}
