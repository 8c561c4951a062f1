using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Core.History;
using Switchboard.Core.Presence;
using Switchboard.Core.Publishing;

namespace Switchboard.Core.Tests;

/// <summary><c>AddSwitchboard()</c> in a plain container, as an app that embeds the engine uses it (docs/embedding.md).</summary>
public sealed class EmbeddingTests : IAsyncLifetime
{
    private readonly string _folder = Directory.CreateTempSubdirectory("switchboard-embed-").FullName;

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        Directory.Delete(_folder, recursive: true);
        return Task.CompletedTask;
    }

    private sealed class RecordingFanout : IGroupFanout
    {
        public List<GroupMessage> Delivered { get; } = [];

        public Task Deliver(IReadOnlyList<GroupMessage> messages)
        {
            lock (Delivered) Delivered.AddRange(messages);
            return Task.CompletedTask;
        }
    }

    [Fact]
    public async Task AnAppWithItsOwnDeliveryPublishesStoresAndDeliversInOrder()
    {
        var fanout = new RecordingFanout();
        var services = new ServiceCollection()
            .AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
            {
                [$"{HistoryOptions.Section}:DataFolder"] = _folder,
            }).Build())
            .AddLogging()
            .AddSwitchboard()
            .AddSingleton<IGroupFanout>(fanout);
        await using var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });

        var publisher = provider.GetRequiredService<GroupPublisher>();
        var acks = new List<AppendResult>();
        for (var i = 1; i <= 20; i++)
        {
            acks.Add(await publisher.PublishAsync("orders", id: $"o{i}", "backend", "Backend", $"order {i}", maxPayloadLength: 1000).DefaultTimeout());
        }
        var repeat = await publisher.PublishAsync("orders", id: "o1", "backend", "Backend", "order 1", maxPayloadLength: 1000).DefaultTimeout();

        Assert.Equal(Enumerable.Range(1, 20).Select(i => (long)i), acks.Select(a => a.Message.Offset));
        Assert.True(repeat.Duplicate);
        Assert.Equal(Enumerable.Range(1, 20).Select(i => $"order {i}"), fanout.Delivered.Select(m => m.Payload));
        var stored = await provider.GetRequiredService<IHistoryStore>().ReadAsync("orders", 0, 100).DefaultTimeout();
        Assert.Equal(20, stored.Messages.Count);
        Assert.IsType<InMemoryPresenceStore>(provider.GetRequiredService<IPresenceStore>());
        await Assert.ThrowsAsync<SwitchboardException>(() => publisher.PublishAsync("bad name!", null, null, null, "x", 1000));
    }
}
