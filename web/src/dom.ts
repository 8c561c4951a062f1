// Building the DOM without innerHTML: every text that came from the network or a user goes in as
// a text node, so a message can never become markup (and the Content-Security-Policy forbids
// inline script anyway).

type Child = Node | string | number | null | undefined | false;
type AttrValue = string | number | boolean | null | undefined | ((event: never) => void);

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K, attrs: Record<string, AttrValue> = {}, ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (typeof value === "function") {
      element.addEventListener(name.slice(2).toLowerCase(), value as EventListener);
    } else if (name === "class") {
      element.className = String(value);
    } else if (value === true) {
      element.setAttribute(name, "");
    } else {
      element.setAttribute(name, String(value));
    }
  }
  append(element, ...children);
  return element;
}

export function append(parent: Node, ...children: (Child | Child[])[]): void {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
  }
}

export function clear(element: Element): void {
  while (element.firstChild) element.removeChild(element.firstChild);
}

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`#${id} is missing from index.html`);
  return element as T;
}

/** A labelled input: the label's `for` and the input's `id` always match. */
export function field(id: string, label: string, input: HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement, hint?: string): HTMLElement {
  input.id = id;
  const children: Child[] = [h("label", { for: id }, label), input];
  if (hint) {
    input.setAttribute("aria-describedby", `${id}-hint`);
    children.push(h("p", { class: "hint", id: `${id}-hint` }, hint));
  }
  return h("div", { class: "field" }, children);
}

/** A message area for a form's outcome: errors are announced at once, successes politely. */
export class Outcome {
  readonly element = h("p", { class: "outcome", "aria-live": "polite" });

  ok(text: string): void { this.set(text, "ok"); }
  error(text: string): void { this.set(text, "error"); }
  clear(): void { this.set("", ""); }

  private set(text: string, kind: string): void {
    this.element.textContent = text;
    this.element.className = `outcome ${kind}`;
    this.element.setAttribute("role", kind === "error" ? "alert" : "status");
  }
}

export function formatTime(value: string | Date): string {
  const date = typeof value === "string" ? new Date(value) : value;
  return Number.isNaN(date.getTime()) ? "" : date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

/**
 * The code and sentence of a refusal. Hub errors arrive as
 * "An unexpected error occurred invoking 'X' on the server. HubException: code: sentence."
 * (docs/protocol.md); everything else is shown as it is.
 */
export function errorText(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const marker = "HubException: ";
  const at = message.lastIndexOf(marker);
  return at >= 0 ? message.slice(at + marker.length) : message;
}
