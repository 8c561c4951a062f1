using System.Threading.Channels;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Switchboard.Contracts;
using Switchboard.Core.Streaming;
using Switchboard.Server.Tests.Infrastructure;

namespace Switchboard.Server.Tests;

public sealed class UploadHubTests(SwitchboardFactory server) : IClassFixture<SwitchboardFactory>
{
    private static readonly string[] Items = ["Item 1", "Item 2", "", "Ünïcödé", new string('x', 1000)];
    private static readonly int TotalCharacters = Items.Sum(i => i.Length);

    private ActiveStreams Active => server.Get<ActiveStreams>();

    private sealed record Client(HubConnection Connection, EventLog<UploadStatus> Progress, EventLog<UploadStatus> Completed) : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => Connection.DisposeAsync();
    }

    private async Task<Client> ConnectAsync(string user, bool messagePack = false)
    {
        var connection = server.Hub(HubRoutes.Upload, server.Token(user), messagePack: messagePack);
        var client = new Client(connection,
            Events.On<UploadStatus>(connection, ClientEvents.UploadProgress),
            Events.On<UploadStatus>(connection, ClientEvents.UploadCompleted));
        await connection.StartedAsync();
        return client;
    }

    private static async Task WriteAllAsync(ChannelWriter<string> writer, IEnumerable<string> items)
    {
        foreach (var item in items)
        {
            await writer.WriteAsync(item).AsTask().DefaultTimeout();
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AnUploadSentFireAndForgetReportsProgressAndExactTotals(bool messagePack)
    {
        await using var client = await ConnectAsync("uma", messagePack);
        var channel = Channel.CreateUnbounded<string>();

        await client.Connection.SendAsync(HubMethods.UploadStream, channel.Reader).DefaultTimeout();
        await WriteAllAsync(channel.Writer, Items);
        channel.Writer.Complete();

        var completed = await client.Completed.NextAsync();
        Assert.Equal(Items.Length, completed.Items);
        Assert.Equal(TotalCharacters, completed.Characters);
        var progress = client.Progress.Drain();
        Assert.NotEmpty(progress);
        Assert.Equal(1, progress[0].Items); // progress starts with the first item
        Assert.Equal(Items[0].Length, progress[0].Characters);
        Assert.Equal((Items.Length, (long)TotalCharacters), (progress[^1].Items, progress[^1].Characters)); // the final progress has the totals
        Assert.True(progress.Zip(progress.Skip(1)).All(p => p.First.Items <= p.Second.Items), "progress never goes back");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AnInvokedUploadReturnsTheSameReceiptAsUploadCompleted(bool messagePack)
    {
        await using var client = await ConnectAsync("uma", messagePack);
        var channel = Channel.CreateUnbounded<string>();

        var invoke = client.Connection.InvokeAsync<UploadStatus>(HubMethods.UploadStream, channel.Reader);
        await WriteAllAsync(channel.Writer, Items);
        channel.Writer.Complete();
        var receipt = await invoke.DefaultTimeout();

        Assert.Equal(Items.Length, receipt.Items);
        Assert.Equal(TotalCharacters, receipt.Characters);
        var completed = await client.Completed.NextAsync();
        Assert.Equal((receipt.Items, receipt.Characters), (completed.Items, completed.Characters));
        var progress = client.Progress.Drain();
        Assert.NotEmpty(progress);
        Assert.Equal((receipt.Items, receipt.Characters), (progress[^1].Items, progress[^1].Characters));
    }

    [Fact]
    public async Task AnEmptyUploadCompletesWithZeroTotals()
    {
        await using var client = await ConnectAsync("uma");
        var channel = Channel.CreateUnbounded<string>();

        var invoke = client.Connection.InvokeAsync<UploadStatus>(HubMethods.UploadStream, channel.Reader);
        channel.Writer.Complete();
        var receipt = await invoke.DefaultTimeout();

        Assert.Equal((0, 0L), (receipt.Items, receipt.Characters));
        var completed = await client.Completed.NextAsync();
        Assert.Equal((0, 0L), (completed.Items, completed.Characters));
    }

    [Fact]
    public async Task AnUploadLargerThanTheStreamBufferIsCountedExactly()
    {
        await using var client = await ConnectAsync("uma");
        var channel = Channel.CreateUnbounded<string>();
        var items = Enumerable.Range(0, 500).Select(i => "line " + i).ToArray();

        var invoke = client.Connection.InvokeAsync<UploadStatus>(HubMethods.UploadStream, channel.Reader);
        await WriteAllAsync(channel.Writer, items);
        channel.Writer.Complete();
        var receipt = await invoke.DefaultTimeout();

        Assert.Equal(500, receipt.Items);
        Assert.Equal(items.Sum(i => i.Length), receipt.Characters);
    }

    [Fact]
    public async Task AnUploadEndedWithAnErrorIsCancelledAndTheConnectionUploadsAgain()
    {
        await using var client = await ConnectAsync("victor");
        await TestTimeouts.Eventually(() => Active.Uploads == 0, "no upload is running before the test");
        var channel = Channel.CreateUnbounded<string>();
        var invoke = client.Connection.InvokeAsync<UploadStatus>(HubMethods.UploadStream, channel.Reader);
        await channel.Writer.WriteAsync("first");
        Assert.Equal(1, (await client.Progress.NextAsync()).Items);
        Assert.Equal(1, Active.Uploads);

        channel.Writer.Complete(new Exception("stop"));

        var error = await Assert.ThrowsAsync<HubException>(() => invoke.DefaultTimeout());
        Assert.Contains(ErrorCodes.UploadCancelled + ": ", error.Message);
        await TestTimeouts.Eventually(() => Active.Uploads == 0, "the cancelled upload loop ended");

        // The same connection completes a new upload; the first UploadCompleted it sees is the new one's.
        var again = Channel.CreateUnbounded<string>();
        var second = client.Connection.InvokeAsync<UploadStatus>(HubMethods.UploadStream, again.Reader);
        await WriteAllAsync(again.Writer, ["a", "bb", "ccc"]);
        again.Writer.Complete();
        var receipt = await second.DefaultTimeout();
        Assert.Equal((3, 6L), (receipt.Items, receipt.Characters));
        var completed = await client.Completed.NextAsync();
        Assert.Equal((3, 6L), (completed.Items, completed.Characters));
        Assert.Empty(client.Completed.Drain());
    }

    [Fact]
    public async Task AFireAndForgetUploadEndedWithAnErrorNeverCompletes()
    {
        await using var client = await ConnectAsync("victor");
        await TestTimeouts.Eventually(() => Active.Uploads == 0, "no upload is running before the test");
        var channel = Channel.CreateUnbounded<string>();
        await client.Connection.SendAsync(HubMethods.UploadStream, channel.Reader).DefaultTimeout();
        await WriteAllAsync(channel.Writer, ["one", "two"]);
        Assert.Equal(1, (await client.Progress.NextAsync()).Items);

        channel.Writer.Complete(new Exception("stop"));

        await TestTimeouts.Eventually(() => Active.Uploads == 0, "the cancelled upload loop ended");
        var again = Channel.CreateUnbounded<string>();
        await client.Connection.SendAsync(HubMethods.UploadStream, again.Reader).DefaultTimeout();
        await WriteAllAsync(again.Writer, ["four"]);
        again.Writer.Complete();
        var completed = await client.Completed.NextAsync();
        Assert.Equal((1, 4L), (completed.Items, completed.Characters));
        Assert.Equal(HubConnectionState.Connected, client.Connection.State);
    }

    [Fact]
    public async Task AClientDisconnectingMidUploadEndsTheServerLoop()
    {
        var client = await ConnectAsync("wendy");
        await TestTimeouts.Eventually(() => Active.Uploads == 0, "no upload is running before the test");
        var channel = Channel.CreateUnbounded<string>();
        var invoke = client.Connection.InvokeAsync<UploadStatus>(HubMethods.UploadStream, channel.Reader);
        await channel.Writer.WriteAsync("partial");
        await client.Progress.NextAsync();
        Assert.Equal(1, Active.Uploads);

        await client.DisposeAsync().AsTask().DefaultTimeout();

        await TestTimeouts.Eventually(() => Active.Uploads == 0, "the upload of the closed connection ended on the server");
        await Assert.ThrowsAnyAsync<Exception>(() => invoke.DefaultTimeout());
    }

    [Fact]
    public async Task AnItemOverTheMessageSizeLimitClosesTheConnectionAndEndsTheUpload()
    {
        await using var client = await ConnectAsync("zack");
        await TestTimeouts.Eventually(() => Active.Uploads == 0, "no upload is running before the test");
        var closed = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        client.Connection.Closed += e => { closed.TrySetResult(e); return Task.CompletedTask; };
        var channel = Channel.CreateUnbounded<string>();
        var invoke = client.Connection.InvokeAsync<UploadStatus>(HubMethods.UploadStream, channel.Reader);
        await channel.Writer.WriteAsync("small");
        await client.Progress.NextAsync();

        await channel.Writer.WriteAsync(new string('x', 40 * 1024)); // the limit is 32 KB per message

        Assert.NotNull(await closed.Task.DefaultTimeout());
        await TestTimeouts.Eventually(() => Active.Uploads == 0, "the upload of the closed connection ended on the server");
        await Assert.ThrowsAnyAsync<Exception>(() => invoke.DefaultTimeout());
        Assert.Empty(client.Completed.Drain());
    }

    [Fact]
    public async Task UploadsOfTwoConnectionsReportOnlyToTheirOwnCaller()
    {
        await using var first = await ConnectAsync("xena");
        await using var second = await ConnectAsync("yuri");
        var a = Channel.CreateUnbounded<string>();
        var b = Channel.CreateUnbounded<string>();

        var invokeA = first.Connection.InvokeAsync<UploadStatus>(HubMethods.UploadStream, a.Reader);
        var invokeB = second.Connection.InvokeAsync<UploadStatus>(HubMethods.UploadStream, b.Reader);
        await WriteAllAsync(a.Writer, ["aaaa"]);
        await WriteAllAsync(b.Writer, ["b", "b"]);
        a.Writer.Complete();
        b.Writer.Complete();
        await Task.WhenAll(invokeA, invokeB).DefaultTimeout();

        var atFirst = await first.Completed.NextAsync();
        var atSecond = await second.Completed.NextAsync();
        Assert.Equal((1, 4L), (atFirst.Items, atFirst.Characters));
        Assert.Equal((2, 2L), (atSecond.Items, atSecond.Characters));
        Assert.Empty(first.Completed.Drain());
        Assert.Empty(second.Completed.Drain());
    }

    [Fact]
    public async Task AnItemOfTheWrongTypeStopsTheUploadAsTheClientsArgumentError()
    {
        await using var raw = await Hostile.RawWebSocket.ConnectAsync(server.BaseUrl, HubRoutes.Upload, server.Token("typo"));
        Assert.Equal("{}", await raw.HandshakeAsync());
        await raw.SendTextAsync(Hostile.RawWebSocket.Invocation("up", HubMethods.UploadStream, [], streamIds: ["s"]));
        await raw.SendTextAsync($"{{\"type\":2,\"invocationId\":\"s\",\"item\":\"ok\"}}{Hostile.RawWebSocket.RecordSeparator}");
        await raw.SendTextAsync($"{{\"type\":2,\"invocationId\":\"s\",\"item\":{{\"not\":\"a string\"}}}}{Hostile.RawWebSocket.RecordSeparator}");

        var completion = await raw.NextRecordAsync(r => r.TryGetProperty("type", out var t) && t.GetInt32() == 3);

        Assert.Equal($"An unexpected error occurred invoking 'UploadStream' on the server. HubException: {ErrorCodes.ArgumentInvalid}: " +
            "Upload items must be strings; item 2 was not, so the upload was stopped after 1 item(s) and nothing was completed.",
            completion!.Value.GetProperty("error").GetString());
    }
}
