import * as signalR from "@microsoft/signalr";
import type { App } from "../app";
import { errorText, field, h } from "../dom";
import { connect } from "../hubs";
import type { Page } from "./page";

interface UploadStatus {
  items: number;
  characters: number;
}

/** Files up to this size are read into memory and sent. */
const maxFileBytes = 20 * 1024 * 1024;
/**
 * Longest line sent as one item. The server closes a connection whose message is over
 * SignalR:MaximumReceiveMessageSize (32 KB by default); a line of this many characters stays under
 * it even at 3 bytes per character.
 */
const maxLineLength = 8000;

/**
 * A client-to-server stream on /hubs/upload: the chosen text file goes line by line through
 * UploadStream; UploadProgress feeds the bar, UploadCompleted is the receipt, compared with what
 * was sent.
 */
export function uploadPage(app: App): Page {
  let connection: signalR.HubConnection | null = null;
  let subject: signalR.Subject<string> | null = null;
  let total = 0;
  let progressEvents = 0;

  const fileInput = h("input", { type: "file", name: "file", accept: ".txt,.csv,.log,.md,.json,text/*", required: true });
  const uploadButton = h("button", { type: "submit", id: "upload-start" }, "Upload");
  const cancelButton = h("button", { type: "button", id: "upload-cancel", class: "secondary", disabled: true, onclick: () => cancel() }, "Cancel");
  const progress = h("progress", { id: "upload-progress", max: 100, value: 0, "aria-labelledby": "upload-progress-label" });
  const percent = h("span", { id: "upload-percent" }, "0%");
  const status = h("p", { id: "upload-status", class: "outcome", role: "status" }, "Choose a text file.");
  const receipt = h("dl", { id: "upload-receipt", class: "receipt", hidden: true });

  const open = async (): Promise<signalR.HubConnection> => {
    if (!connection) {
      connection = connect("/hubs/upload", app.session);
      connection.on("UploadProgress", (p: UploadStatus) => {
        progressEvents++;
        element.dataset.progressEvents = String(progressEvents);
        setProgress(p.items);
      });
      connection.on("UploadCompleted", (done: UploadStatus) => showReceipt(done));
    }
    if (connection.state === signalR.HubConnectionState.Disconnected) await connection.start();
    return connection;
  };

  function cancel(): void {
    const stream = subject;
    subject = null; // the send loop stops at its next line
    stream?.error(new Error("Cancelled by the user."));
  }

  let expected: UploadStatus = { items: 0, characters: 0 };

  function setProgress(items: number): void {
    const value = total === 0 ? 100 : Math.min(100, Math.floor((items / total) * 100));
    progress.value = value;
    percent.textContent = `${value}%`;
    element.dataset.items = String(items);
  }

  function showReceipt(done: UploadStatus): void {
    const matches = done.items === expected.items && done.characters === expected.characters;
    receipt.replaceChildren(
      h("dt", {}, "Lines received"), h("dd", { id: "receipt-items" }, String(done.items)),
      h("dt", {}, "Characters received"), h("dd", { id: "receipt-characters" }, String(done.characters)),
      h("dt", {}, "Check"), h("dd", { id: "receipt-check", "data-matches": String(matches) },
        matches ? "Matches what was sent." : `Sent ${expected.items} lines and ${expected.characters} characters.`));
    receipt.hidden = false;
  }

  async function upload(): Promise<void> {
    const file = fileInput.files?.[0];
    receipt.hidden = true;
    if (!file) { status.textContent = "Choose a text file."; return; }
    if (file.size > maxFileBytes) { status.textContent = `The file is larger than ${maxFileBytes / 1024 / 1024} MB.`; return; }
    const lines = (await file.text()).split(/\r?\n/);
    if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop(); // the file's final newline ends a line, it does not start one
    const long = lines.findIndex((line) => line.length > maxLineLength);
    if (long >= 0) { status.textContent = `Line ${long + 1} is longer than ${maxLineLength} characters; split it first.`; return; }

    total = lines.length;
    progressEvents = 0;
    expected = { items: lines.length, characters: lines.reduce((sum, line) => sum + line.length, 0) };
    setProgress(0);
    uploadButton.disabled = true;
    cancelButton.disabled = false;
    status.textContent = `Uploading ${file.name}: ${total} lines…`;
    try {
      const hub = await open();
      const stream = new signalR.Subject<string>();
      subject = stream;
      const result = hub.invoke<UploadStatus>("UploadStream", stream);
      for (let i = 0; i < lines.length && subject === stream; i++) {
        stream.next(lines[i]);
        // Let the page paint the progress now and then.
        if (i % 200 === 199) await new Promise((resolve) => setTimeout(resolve, 0));
      }
      if (subject === stream) stream.complete();
      // The bar and the receipt come from the events (UploadProgress, then UploadCompleted), which
      // the server sends before it answers the invocation.
      await result;
      status.textContent = `Uploaded ${file.name}.`;
    } catch (error) {
      status.textContent = errorText(error);
    } finally {
      subject = null;
      uploadButton.disabled = false;
      cancelButton.disabled = true;
    }
  }

  const element = h("section", { id: "page-upload", class: "page", "aria-labelledby": "upload-heading", hidden: true },
    h("h1", { id: "upload-heading", tabindex: -1 }, "Upload"),
    h("section", { class: "card", "aria-labelledby": "upload-file-heading" },
      h("h2", { id: "upload-file-heading" }, "Send a text file line by line"),
      h("form", { id: "upload-form", class: "stack-form", onsubmit: (e: SubmitEvent) => { e.preventDefault(); void upload(); } },
        field("upload-file", "Text file", fileInput, `Each line is one item of the stream; lines up to ${maxLineLength} characters.`),
        h("div", { class: "button-row" }, uploadButton, cancelButton)),
      h("div", { class: "progress-row" }, h("span", { id: "upload-progress-label" }, "Upload progress"), progress, percent),
      status, receipt));

  return { id: "upload", title: "Upload", element };
}
