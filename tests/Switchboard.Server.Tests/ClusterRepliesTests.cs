using Switchboard.Server.Hubs;

namespace Switchboard.Server.Tests;

/// <summary>Counting the answers to a close sent over the cluster bus, whatever order they come in.</summary>
public sealed class ClusterRepliesTests
{
    [Fact]
    public void ARequestIsDoneOnceEveryProcessItReachedHasAnsweredEvenWhenAnswersComeFirst()
    {
        var replies = new ClusterReplies();
        var request = replies.Expect();
        replies.Answer(request.Id, 2);
        replies.Answer(request.Id, 0);
        Assert.False(request.Done.IsCompleted); // how many processes it reached is not known yet

        request.Reached(3);
        Assert.False(request.Done.IsCompleted);
        replies.Answer(request.Id, 1);
        Assert.True(request.Done.IsCompletedSuccessfully);
        Assert.Equal(3, replies.Take(request));
    }

    [Fact]
    public void ARequestLookingForOneConnectionIsDoneAtTheFirstAnswerThatFoundIt()
    {
        var replies = new ClusterReplies();
        var request = replies.Expect(enoughFound: 1);
        request.Reached(5);
        replies.Answer(request.Id, 0);
        Assert.False(request.Done.IsCompleted);
        replies.Answer(request.Id, 1);
        Assert.True(request.Done.IsCompletedSuccessfully);
    }

    [Fact]
    public void ARequestThatReachedNoProcessIsDoneAtOnceAndFindsNothing()
    {
        var replies = new ClusterReplies();
        var request = replies.Expect();
        request.Reached(0); // Redis delivered it to nobody, this process's own subscription included
        Assert.True(request.Done.IsCompletedSuccessfully);
        Assert.Equal(0, replies.Take(request));
    }

    [Fact]
    public void AnswersToAnotherRequestOrAfterTheWaitEndedAreNotCounted()
    {
        var replies = new ClusterReplies();
        var first = replies.Expect();
        var second = replies.Expect();
        replies.Answer(second.Id, 4);
        replies.Answer("no-such-request", 7);
        first.Reached(1);
        Assert.False(first.Done.IsCompleted);
        Assert.Equal(0, replies.Take(first));

        replies.Answer(first.Id, 1); // late: the request was taken
        Assert.Equal(0, first.Found);
        Assert.Equal(4, replies.Take(second));
    }
}
