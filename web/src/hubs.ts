import * as signalR from "@microsoft/signalr";
import type { Session } from "./session";

/** Waits between reconnect attempts (ms); the last one repeats. Short, because people are watching. */
export const reconnectDelays = [0, 1000, 2000, 3000, 5000];
/** How long to keep trying before giving up and showing a Reconnect button. */
export const reconnectForMs = 10 * 60 * 1000;

export function hubUrl(path: string): string {
  return new URL(path, window.location.origin).href;
}

/**
 * An official SignalR connection to one of the server's hubs, on WebSockets without the
 * negotiate round trip (the token travels as access_token, which the server accepts for /hubs
 * only and redacts from its logs), reconnecting on its own.
 */
export function connect(path: string, session: Session): signalR.HubConnection {
  return new signalR.HubConnectionBuilder()
    .withUrl(hubUrl(path), {
      accessTokenFactory: () => session.token,
      skipNegotiation: true,
      transport: signalR.HttpTransportType.WebSockets,
    })
    .withAutomaticReconnect({
      nextRetryDelayInMilliseconds: (context) => context.elapsedMilliseconds >= reconnectForMs
        ? null
        : reconnectDelays[Math.min(context.previousRetryCount, reconnectDelays.length - 1)],
    })
    .configureLogging(signalR.LogLevel.Warning)
    .build();
}

/**
 * Asks the server whether it accepts a token, before anything uses it: a negotiate request to
 * /hubs/secure-chat, the one hub that always needs a signed-in user. A WebSocket refused with
 * 401 only says "failed to connect", this says why.
 */
export async function checkToken(token: string): Promise<string | null> {
  let response: Response;
  try {
    response = await fetch(hubUrl("/hubs/secure-chat/negotiate?negotiateVersion=1"), {
      method: "POST",
      headers: { Authorization: `Bearer ${token}` },
    });
  } catch {
    return "The server could not be reached.";
  }
  if (response.ok) return null;
  if (response.status === 401) return "The server refused this token (401): wrong key, issuer or audience, expired, or no valid 'sub'.";
  return `The server answered ${response.status} to this token.`;
}
