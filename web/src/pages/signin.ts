import { field, h, Outcome } from "../dom";
import { checkToken } from "../hubs";
import { readToken, saveSession, type Session } from "../session";
import { problemText } from "./notifications";

/** What the server tells the page about itself: GET /app-config.json. */
export interface AppConfig {
  /** True only when the server runs in the Development environment and maps POST /dev/token. */
  devSignIn: boolean;
}

/**
 * Sign in by pasting a token (any environment), or, when the server runs in Development, with
 * one click: POST /dev/token mints a token signed with the development key.
 */
export function signInPage(config: AppConfig, onSignedIn: (session: Session) => void, notice?: string): HTMLElement {
  const tokenOutcome = new Outcome();
  if (notice) tokenOutcome.error(notice);
  const tokenInput = h("textarea", { name: "token", rows: 4, required: true, spellcheck: "false", autocomplete: "off", class: "mono" });

  async function useToken(token: string, outcome: Outcome): Promise<void> {
    outcome.clear();
    const session = readToken(token);
    if (typeof session === "string") { outcome.error(session); return; }
    const refused = await checkToken(session.token);
    if (refused) { outcome.error(refused); return; }
    saveSession(session);
    onSignedIn(session);
  }

  const tokenForm = h("form", { id: "token-form", class: "stack-form", onsubmit: (e: SubmitEvent) => { e.preventDefault(); void useToken(tokenInput.value, tokenOutcome); } },
    field("token-input", "Access token (JWT)", tokenInput,
      "Mint one with: dotnet run --project src/Switchboard.Server -- token --user alice --name Alice --role Admin"),
    h("button", { type: "submit" }, "Sign in with token"));

  const sections: HTMLElement[] = [];
  if (config.devSignIn) {
    const suffix = Math.random().toString(36).slice(2, 6);
    const userInput = h("input", { type: "text", name: "user", required: true, maxlength: 128, autocomplete: "username", value: `dev-${suffix}` });
    const nameInput = h("input", { type: "text", name: "name", maxlength: 100, autocomplete: "name", value: `Developer ${suffix}` });
    const role = (value: string, checked: boolean) => h("label", { class: "choice" },
      h("input", { type: "checkbox", name: "roles", value, checked }), ` ${value}`);
    const devOutcome = new Outcome();
    const devForm = h("form", {
      id: "dev-form", class: "stack-form", onsubmit: async (e: SubmitEvent) => {
        e.preventDefault();
        devOutcome.clear();
        const roles = [...devForm.querySelectorAll<HTMLInputElement>("input[name=roles]:checked")].map((r) => r.value);
        try {
          const response = await fetch("/dev/token", {
            method: "POST",
            headers: { "Content-Type": "application/json" },
            body: JSON.stringify({ user: userInput.value.trim(), name: nameInput.value.trim() || null, roles }),
          });
          if (!response.ok) { devOutcome.error(await problemText(response)); return; }
          const { token } = await response.json() as { token: string };
          await useToken(token, devOutcome);
        } catch (error) {
          devOutcome.error(String(error));
        }
      },
    },
    field("dev-user", "User id", userInput), field("dev-name", "Display name", nameInput),
    h("fieldset", { class: "choices" }, h("legend", {}, "Roles"), role("Admin", true), role("Publisher", false)),
    h("button", { type: "submit", id: "dev-sign-in" }, "Sign in (development)"));
    sections.push(h("section", { class: "card", "aria-labelledby": "dev-heading" },
      h("h2", { id: "dev-heading" }, "Development sign-in"),
      h("p", { class: "hint" }, "This server runs in the Development environment, so it mints tokens with its published development key. Other environments have no such button."),
      devForm, devOutcome.element));
  }
  sections.push(h("section", { class: "card", "aria-labelledby": "token-heading" },
    h("h2", { id: "token-heading" }, "Sign in with a token"), tokenForm, tokenOutcome.element));

  return h("section", { id: "page-signin", class: "page signin", "aria-labelledby": "signin-heading" },
    h("h1", { id: "signin-heading", tabindex: -1 }, "Sign in to Switchboard"),
    h("div", { class: "two-columns" }, sections));
}
