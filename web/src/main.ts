import "./app.css";
import { App } from "./app";
import { byId, clear } from "./dom";
import { adminPage } from "./pages/admin";
import { chatPage } from "./pages/chat";
import { dashboardPage } from "./pages/dashboard";
import { notificationsPage } from "./pages/notifications";
import type { Page } from "./pages/page";
import { signInPage, type AppConfig } from "./pages/signin";
import { uploadPage } from "./pages/upload";
import { clearSession, isPublisher, loadSession, type Session } from "./session";

// The app is one page with a section per screen; the URL's hash names the screen (#/chat), so
// the server serves only '/' and the back button works.

const main = byId("main");
const noticeKey = "switchboard.notice";

async function loadConfig(): Promise<AppConfig> {
  try {
    const response = await fetch("/app-config.json", { cache: "no-store" });
    if (response.ok) return await response.json() as AppConfig;
  } catch { /* fall through: no development sign-in */ }
  return { devSignIn: false };
}

function showSignIn(config: AppConfig, notice?: string): void {
  byId("nav").hidden = true;
  byId("account").hidden = true;
  clear(main);
  const page = signInPage(config, () => {
    window.location.hash = "#/chat";
    window.location.reload();
  }, notice);
  main.append(page);
  document.title = "Sign in · Switchboard";
  if (window.location.hash !== "#/signin") history.replaceState(null, "", "#/signin");
}

function startApp(session: Session): void {
  const app = new App(session);
  const pages: Page[] = [chatPage(app), notificationsPage(app), dashboardPage(app), uploadPage(app)];
  if (isPublisher(session)) pages.push(adminPage(app));
  clear(main);
  for (const page of pages) main.append(page.element);

  byId("nav").hidden = false;
  for (const item of document.querySelectorAll<HTMLElement>("[data-needs=publisher]")) item.hidden = !isPublisher(session);
  byId("account").hidden = false;
  byId("account-name").textContent = `${session.name}${session.roles.length ? ` (${session.roles.join(", ")})` : ""}`;
  byId("sign-out").addEventListener("click", () => {
    void app.stop().finally(() => {
      clearSession();
      window.location.hash = "#/signin";
      window.location.reload();
    });
  });

  let currentPage: Page | null = null;
  const route = () => {
    const id = window.location.hash.replace(/^#\/?/, "");
    const page = pages.find((p) => p.id === id);
    if (!page) {
      history.replaceState(null, "", "#/chat");
      route();
      return;
    }
    if (page === currentPage) return;
    currentPage?.hidden?.();
    for (const p of pages) p.element.hidden = p !== page;
    for (const link of document.querySelectorAll<HTMLAnchorElement>("#nav a")) {
      if (link.dataset.page === page.id) link.setAttribute("aria-current", "page"); else link.removeAttribute("aria-current");
    }
    document.title = `${page.title} · Switchboard`;
    const navigated = currentPage !== null; // not on the first route of a page load
    currentPage = page;
    page.shown?.();
    // Move focus to the new page's heading so keyboard and screen reader users start there.
    if (navigated) page.element.querySelector<HTMLElement>("h1")?.focus();
  };
  window.addEventListener("hashchange", route);
  route();

  // The server closes connections when the token expires; say so instead of reconnecting in vain.
  const left = session.expiresAt - Date.now();
  window.setTimeout(() => {
    void app.stop().finally(() => {
      clearSession();
      sessionStorage.setItem(noticeKey, "Your session expired; sign in again.");
      window.location.hash = "#/signin";
      window.location.reload();
    });
  }, Math.min(Math.max(left, 0), 2_147_000_000));
}

async function boot(): Promise<void> {
  const session = loadSession();
  if (session) {
    startApp(session);
  } else {
    const notice = sessionStorage.getItem(noticeKey) ?? undefined;
    sessionStorage.removeItem(noticeKey);
    showSignIn(await loadConfig(), notice);
  }
}

void boot();
