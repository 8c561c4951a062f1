using System.Net;
using System.Net.Sockets;

namespace Switchboard.Server.Tests.Infrastructure;

/// <summary>Free loopback ports for the real servers the tests start (redis-server, haproxy).</summary>
public static class Ports
{
    /// <summary>A port nothing listens on now: the system picks it, and it is released at once for the caller to bind.</summary>
    public static int Free()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
