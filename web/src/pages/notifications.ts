import { notificationGroups, saveNotificationGroups, type App } from "../app";
import { clear, errorText, field, formatTime, h, Outcome } from "../dom";
import { isPublisher } from "../session";
import type { Page } from "./page";

/**
 * Notifications arrive on /hubs/notifications as toasts on every page; this page lists them,
 * lets the user listen to notification groups, and (for Admin and Publisher) sends through the
 * HTTP API: POST /api/notifications/broadcast, /users/{userId} or /groups/{groupName}, with the
 * text as a JSON string body (docs/http-api.md).
 */
export function notificationsPage(app: App): Page {
  const received = h("ol", { class: "messages", id: "notification-list", "aria-live": "off" });
  app.notificationListeners.add((n) => {
    received.prepend(h("li", { class: "message" },
      h("div", { class: "message-meta" }, h("span", { class: "sender" }, "Notification"),
        h("time", { datetime: n.timestamp }, formatTime(n.timestamp))),
      h("p", { class: "message-text" }, n.message)));
  });

  // Groups this tab listens to.
  const groupInput = h("input", { type: "text", name: "group", required: true, maxlength: 128, autocomplete: "off" });
  const groupOutcome = new Outcome();
  const groupList = h("ul", { class: "chip-list", id: "notification-groups" });
  const renderGroups = () => {
    clear(groupList);
    for (const group of notificationGroups()) {
      groupList.append(h("li", {}, h("span", {}, group),
        h("button", { type: "button", class: "secondary small", "aria-label": `Stop listening to ${group}`, onclick: () => void leaveGroup(group) }, "Leave")));
    }
  };
  async function joinGroup(group: string): Promise<void> {
    groupOutcome.clear();
    try {
      await app.startedAt;
      await app.notifications.invoke("JoinGroup", group);
      saveNotificationGroups([...new Set([...notificationGroups(), group])]);
      groupInput.value = "";
      renderGroups();
    } catch (error) {
      groupOutcome.error(errorText(error));
    }
  }
  async function leaveGroup(group: string): Promise<void> {
    groupOutcome.clear();
    try {
      await app.notifications.invoke("LeaveGroup", group);
      saveNotificationGroups(notificationGroups().filter((g) => g !== group));
      renderGroups();
    } catch (error) {
      groupOutcome.error(errorText(error));
    }
  }
  renderGroups();

  const element = h("section", { id: "page-notifications", class: "page", "aria-labelledby": "notifications-heading", hidden: true },
    h("h1", { id: "notifications-heading", tabindex: -1 }, "Notifications"),
    h("div", { class: "two-columns" },
      isPublisher(app.session) ? sendForm(app) : null,
      h("section", { class: "card", "aria-labelledby": "listen-heading" },
        h("h2", { id: "listen-heading" }, "Groups you listen to"),
        h("p", { class: "hint" }, "Everyone gets broadcasts and notifications sent to their user id; group notifications reach those who listen to the group."),
        h("form", { id: "notification-group-form", class: "inline-form", onsubmit: (e: SubmitEvent) => { e.preventDefault(); void joinGroup(groupInput.value.trim()); } },
          field("notification-group", "Group name", groupInput), h("button", { type: "submit" }, "Listen")),
        groupOutcome.element, groupList),
      h("section", { class: "card", "aria-labelledby": "received-heading" },
        h("h2", { id: "received-heading" }, "Received"), received)));

  return { id: "notifications", title: "Notifications", element };
}

function sendForm(app: App): HTMLElement {
  const outcome = new Outcome();
  const targetInput = h("input", { type: "text", name: "target", maxlength: 128, autocomplete: "off", disabled: true });
  const targetLabel = h("label", { for: "notify-target" }, "User id or group name");
  targetInput.id = "notify-target";
  const message = h("textarea", { name: "message", required: true, rows: 3, maxlength: 16384 });
  const radio = (value: string, label: string, checked = false) => h("label", { class: "choice" },
    h("input", { type: "radio", name: "audience", value, checked, onchange: () => audienceChanged() }), ` ${label}`);
  const audience = h("fieldset", { class: "choices" }, h("legend", {}, "Send to"),
    radio("everyone", "Everyone", true), radio("user", "A user"), radio("group", "A group"));

  function selected(): string {
    return (audience.querySelector<HTMLInputElement>("input[name=audience]:checked")?.value) ?? "everyone";
  }
  function audienceChanged(): void {
    const value = selected();
    targetInput.disabled = value === "everyone";
    targetInput.required = value !== "everyone";
    targetLabel.textContent = value === "user" ? "User id" : value === "group" ? "Group name" : "User id or group name";
  }

  async function submit(): Promise<void> {
    outcome.clear();
    const value = selected();
    const target = targetInput.value.trim();
    const path = value === "user" ? `/api/notifications/users/${encodeURIComponent(target)}`
      : value === "group" ? `/api/notifications/groups/${encodeURIComponent(target)}`
        : "/api/notifications/broadcast";
    try {
      const response = await fetch(path, {
        method: "POST",
        headers: { Authorization: `Bearer ${app.session.token}`, "Content-Type": "application/json" },
        body: JSON.stringify(message.value),
      });
      if (response.ok) {
        outcome.ok(value === "everyone" ? "Sent to everyone." : `Sent to ${value} ${target}.`);
        message.value = "";
      } else {
        outcome.error(await problemText(response));
      }
    } catch (error) {
      outcome.error(errorText(error));
    }
  }

  return h("section", { class: "card", "aria-labelledby": "send-notification-heading" },
    h("h2", { id: "send-notification-heading" }, "Send a notification"),
    h("form", { id: "notify-form", class: "stack-form", onsubmit: (e: SubmitEvent) => { e.preventDefault(); void submit(); } },
      audience,
      h("div", { class: "field" }, targetLabel, targetInput),
      field("notify-message", "Message", message),
      h("button", { type: "submit" }, "Send notification")),
    outcome.element);
}

/** "code: sentence" from problem details (docs/http-api.md), or the status. */
export async function problemText(response: Response): Promise<string> {
  try {
    const problem = await response.json() as { code?: string; detail?: string; title?: string };
    if (problem.code) return `${problem.code}: ${problem.detail ?? ""}`.trim();
    if (problem.title) return `${response.status}: ${problem.title}`;
  } catch { /* not JSON */ }
  return `The server answered ${response.status}.`;
}
