import { byId, h } from "./dom";

const visibleForMs = 12_000;

/**
 * Shows a toast in the live region at the bottom of the page. It stays while the pointer or the
 * keyboard focus is on it, and has a real button to dismiss it.
 */
export function toast(title: string, message: string, kind: "info" | "admin" | "error" = "info"): HTMLElement {
  const container = byId("toasts");
  const close = h("button", { type: "button", class: "toast-close", "aria-label": `Dismiss: ${title}` }, "×");
  const element = h("div", { class: `toast toast-${kind}`, "data-kind": kind },
    h("div", { class: "toast-body" }, h("strong", { class: "toast-title" }, title), h("p", { class: "toast-message" }, message)),
    close);
  let timer = 0;
  const remove = () => { window.clearTimeout(timer); element.remove(); };
  const schedule = () => { window.clearTimeout(timer); timer = window.setTimeout(remove, visibleForMs); };
  close.addEventListener("click", remove);
  element.addEventListener("mouseenter", () => window.clearTimeout(timer));
  element.addEventListener("mouseleave", schedule);
  element.addEventListener("focusin", () => window.clearTimeout(timer));
  element.addEventListener("focusout", schedule);
  container.appendChild(element);
  // Keep the stack short on small screens.
  while (container.children.length > 4) container.firstElementChild?.remove();
  schedule();
  return element;
}
