using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;

namespace Switchboard.Bench.Clients;

/// <summary>
/// Spreads the generator's connections over several loopback source addresses (127.0.0.1,
/// 127.0.0.2, ...): each source address has its own range of ephemeral ports (about 28,000 on
/// Debian's default), so N addresses reach N times as many connections to one server port. The
/// whole 127.0.0.0/8 block is on the loopback interface on Linux, so no setup is needed.
/// Connection <c>i</c> uses address <c>i mod N</c>, through its own <see cref="SocketsHttpHandler"/>.
/// </summary>
internal sealed class LoopbackSources : IDisposable
{
    private readonly HttpMessageInvoker[] _invokers;

    public LoopbackSources(int count)
    {
        if (count is < 1 or > 254) throw new ArgumentOutOfRangeException(nameof(count), "between 1 and 254 source addresses");
        Addresses = Enumerable.Range(1, count).Select(i => new IPAddress([127, 0, 0, (byte)i])).ToArray();
        _invokers = Addresses.Select(address => new HttpMessageInvoker(new SocketsHttpHandler
        {
            UseProxy = false,
            ConnectTimeout = TimeSpan.FromSeconds(30),
            ConnectCallback = async (context, ct) =>
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    socket.Bind(new IPEndPoint(address, 0));
                    await socket.ConnectAsync(context.DnsEndPoint, ct);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        })).ToArray();
    }

    public IPAddress[] Addresses { get; }

    /// <summary>Opens a WebSocket to <paramref name="uri"/> (ws://) from the source address of connection <paramref name="index"/>.</summary>
    public async Task<ClientWebSocket> ConnectAsync(Uri uri, int index, string? bearerToken, CancellationToken ct)
    {
        if (uri.Scheme is "http" or "https") uri = new UriBuilder(uri) { Scheme = uri.Scheme == "https" ? "wss" : "ws" }.Uri;
        var socket = new ClientWebSocket();
        if (bearerToken is not null) socket.Options.SetRequestHeader("Authorization", "Bearer " + bearerToken);
        try
        {
            await socket.ConnectAsync(uri, _invokers[index % _invokers.Length], ct);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        foreach (var invoker in _invokers) invoker.Dispose();
    }
}
