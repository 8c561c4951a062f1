// The signed-in user: a Switchboard JWT and what it says about its holder. The token is kept in
// sessionStorage (this tab only, gone when the tab closes), never in a cookie, so no other site
// can make the browser send it. The claims are read only to label the UI; the server checks the
// signature and the roles on every connection and request.

const storageKey = "switchboard.token";

export interface Session {
  token: string;
  userId: string;
  name: string;
  roles: string[];
  /** Milliseconds since the epoch. */
  expiresAt: number;
}

export function isAdmin(session: Session): boolean {
  return session.roles.includes("Admin");
}

/** Admin or Publisher: may use the HTTP API (notifications form, admin page). */
export function isPublisher(session: Session): boolean {
  return session.roles.includes("Admin") || session.roles.includes("Publisher");
}

/** Reads a token's claims; a sentence when it is not a JWT Switchboard could have issued or it has expired. */
export function readToken(token: string): Session | string {
  const parts = token.trim().split(".");
  if (parts.length !== 3 || parts.some((p) => !/^[A-Za-z0-9_-]*$/.test(p))) {
    return "That is not a JWT: it should be three base64url parts separated by dots.";
  }
  let claims: Record<string, unknown>;
  try {
    const base64 = parts[1].replace(/-/g, "+").replace(/_/g, "/");
    const bytes = Uint8Array.from(atob(base64 + "=".repeat((4 - (base64.length % 4)) % 4)), (c) => c.charCodeAt(0));
    claims = JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
  } catch {
    return "The token's payload could not be read.";
  }
  const sub = claims.sub;
  const exp = claims.exp;
  if (typeof sub !== "string" || sub.length === 0) return "The token has no 'sub' (user id) claim.";
  if (typeof exp !== "number") return "The token has no 'exp' (expiry) claim.";
  if (exp * 1000 <= Date.now()) return "The token has expired; mint a new one.";
  const role = claims.role;
  const roles = Array.isArray(role) ? role.filter((r): r is string => typeof r === "string") : typeof role === "string" ? [role] : [];
  const name = typeof claims.name === "string" && claims.name.length > 0 ? claims.name : sub;
  return { token: token.trim(), userId: sub, name, roles, expiresAt: exp * 1000 };
}

export function loadSession(): Session | null {
  const token = sessionStorage.getItem(storageKey);
  if (!token) return null;
  const session = readToken(token);
  if (typeof session === "string") {
    sessionStorage.removeItem(storageKey);
    return null;
  }
  return session;
}

export function saveSession(session: Session): void {
  sessionStorage.setItem(storageKey, session.token);
}

export function clearSession(): void {
  sessionStorage.removeItem(storageKey);
  sessionStorage.removeItem("switchboard.rooms");
}
