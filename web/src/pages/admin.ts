import type { App } from "../app";
import { clear, errorText, formatTime, h } from "../dom";
import type { Page } from "./page";
import { problemText } from "./notifications";

interface Stats { connections: number; onlineUsers: number; streams: { downloads: number; uploads: number } }
interface ConnectionInfo { connectionId: string; hub: string; userId: string | null; name: string | null; connectedAt: string }
interface GroupInfo { group: string; users: number; connections: number }
interface MessageCounts { at: string; groupMessages: number; privateMessages: number; invocations: number }

const refreshEveryMs = 2000;

/**
 * What this server process holds, from the HTTP API (Admin or Publisher): GET /api/stats,
 * /api/connections, /api/groups and /api/stats/messages. Rates are the difference between two
 * readings of the message counters divided by the time between them.
 */
export function adminPage(app: App): Page {
  let timer = 0;
  let visible = false;
  let previous: MessageCounts | null = null;

  const auto = h("input", { type: "checkbox", id: "admin-auto", checked: true, onchange: () => schedule() });
  const refreshButton = h("button", { type: "button", id: "admin-refresh", onclick: () => void refresh() }, "Refresh now");
  const updated = h("p", { id: "admin-updated", class: "hint", role: "status" }, "Not loaded yet.");
  const figure = (id: string, label: string) => h("div", { class: "figure" }, h("dt", {}, label), h("dd", { id }, "—"));
  const summary = h("dl", { class: "figures" },
    figure("stat-connections", "Connections"), figure("stat-users", "Users online"),
    figure("stat-downloads", "Download streams"), figure("stat-uploads", "Upload streams"),
    figure("stat-group-rate", "Room messages / s"), figure("stat-private-rate", "Private messages / s"),
    figure("stat-invocation-rate", "Hub calls / s"), figure("stat-messages-total", "Messages stored (since start)"));
  const connectionRows = h("tbody", { id: "admin-connections" });
  const groupRows = h("tbody", { id: "admin-groups" });
  const userRows = h("tbody", { id: "admin-users" });

  async function get<T>(path: string): Promise<T> {
    const response = await fetch(path, { headers: { Authorization: `Bearer ${app.session.token}` } });
    if (!response.ok) throw new Error(await problemText(response));
    return await response.json() as T;
  }

  async function refresh(): Promise<void> {
    try {
      const [stats, connections, groups, counts] = await Promise.all([
        get<Stats>("/api/stats"), get<ConnectionInfo[]>("/api/connections"), get<GroupInfo[]>("/api/groups"), get<MessageCounts>("/api/stats/messages"),
      ]);
      set("stat-connections", stats.connections);
      set("stat-users", stats.onlineUsers);
      set("stat-downloads", stats.streams.downloads);
      set("stat-uploads", stats.streams.uploads);
      set("stat-messages-total", counts.groupMessages + counts.privateMessages);
      if (previous) {
        const seconds = (Date.parse(counts.at) - Date.parse(previous.at)) / 1000;
        if (seconds > 0) {
          set("stat-group-rate", ((counts.groupMessages - previous.groupMessages) / seconds).toFixed(1));
          set("stat-private-rate", ((counts.privateMessages - previous.privateMessages) / seconds).toFixed(1));
          set("stat-invocation-rate", ((counts.invocations - previous.invocations) / seconds).toFixed(1));
        }
      }
      previous = counts;

      clear(connectionRows);
      for (const c of connections) {
        connectionRows.append(h("tr", { "data-connection-id": c.connectionId },
          h("td", {}, c.name ?? "anonymous"), h("td", {}, c.userId ?? "—"), h("td", {}, c.hub),
          h("td", {}, formatTime(c.connectedAt)), h("td", { class: "mono" }, c.connectionId)));
      }
      if (connections.length === 0) connectionRows.append(emptyRow(5, "No connections."));

      clear(groupRows);
      for (const g of groups) {
        groupRows.append(h("tr", { "data-group": g.group },
          h("th", { scope: "row" }, g.group), h("td", { class: "num" }, String(g.users)), h("td", { class: "num" }, String(g.connections))));
      }
      if (groups.length === 0) groupRows.append(emptyRow(3, "No chat room has members."));

      clear(userRows);
      const users = new Map<string, { name: string; hubs: Set<string>; connections: number }>();
      for (const c of connections) {
        if (!c.userId) continue;
        const user = users.get(c.userId) ?? { name: c.name ?? c.userId, hubs: new Set<string>(), connections: 0 };
        user.hubs.add(c.hub);
        user.connections++;
        users.set(c.userId, user);
      }
      for (const [userId, u] of [...users].sort(([a], [b]) => a.localeCompare(b))) {
        userRows.append(h("tr", { "data-user-id": userId },
          h("th", { scope: "row" }, u.name), h("td", {}, userId), h("td", { class: "num" }, String(u.connections)), h("td", {}, [...u.hubs].sort().join(", "))));
      }
      if (users.size === 0) userRows.append(emptyRow(4, "Nobody is signed in."));
      updated.textContent = `Updated at ${formatTime(new Date())}.`;
    } catch (error) {
      updated.textContent = `Could not load: ${errorText(error)}`;
    }
  }

  function schedule(): void {
    window.clearTimeout(timer);
    if (visible && auto.checked) timer = window.setTimeout(() => { void refresh().finally(schedule); }, refreshEveryMs);
  }

  const table = (id: string, caption: string, headings: string[], body: HTMLElement) =>
    h("section", { class: "card", "aria-labelledby": id },
      h("h2", { id }, caption),
      h("div", { class: "table-scroll" },
        h("table", { class: "data-table" }, h("thead", {}, h("tr", {}, headings.map((t) => h("th", { scope: "col" }, t)))), body)));

  const element = h("section", { id: "page-admin", class: "page", "aria-labelledby": "admin-heading", hidden: true },
    h("h1", { id: "admin-heading", tabindex: -1 }, "Admin"),
    h("div", { class: "toolbar" },
      h("label", { class: "choice", for: "admin-auto" }, auto, ` Refresh every ${refreshEveryMs / 1000} s`), refreshButton, updated),
    h("section", { class: "card", "aria-labelledby": "admin-summary-heading" },
      h("h2", { id: "admin-summary-heading" }, "This server process"), summary),
    table("admin-groups-heading", "Rooms", ["Room", "Users", "Connections"], groupRows),
    table("admin-users-heading", "Presence", ["Name", "User id", "Connections", "Hubs"], userRows),
    table("admin-connections-heading", "Connections", ["Name", "User id", "Hub", "Since", "Connection id"], connectionRows));

  return {
    id: "admin",
    title: "Admin",
    element,
    shown: () => { visible = true; void refresh().finally(schedule); },
    hidden: () => { visible = false; window.clearTimeout(timer); },
  };
}

function set(id: string, value: number | string): void {
  const element = document.getElementById(id);
  if (element) element.textContent = String(value);
}

function emptyRow(columns: number, text: string): HTMLTableRowElement {
  return h("tr", {}, h("td", { colspan: columns, class: "empty" }, text));
}
