import * as signalR from "@microsoft/signalr";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import type { App } from "../app";
import { clear, errorText, field, formatTime, h } from "../dom";
import { connect } from "../hubs";
import type { Page } from "./page";

interface StockPrice {
  symbol: string;
  price: number;
  timestamp: string;
}

const keepRounds = 120;
const colors = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777"];

/**
 * Server-to-client streams from /hubs/streaming: StreamStockPrices drawn live with uPlot, and
 * StreamCounter. Stop disposes the subscription, which sends SignalR's CancelInvocation; the
 * server's loop stops (GET /api/stats shows its download streams go back down).
 */
export function dashboardPage(app: App): Page {
  let connection: signalR.HubConnection | null = null;
  const open = async (): Promise<signalR.HubConnection> => {
    if (!connection) {
      connection = connect("/hubs/streaming", app.session);
      connection.onreconnected(() => setPriceStatus("The connection was restored; press Start to stream again."));
    }
    if (connection.state === signalR.HubConnectionState.Disconnected) await connection.start();
    return connection;
  };

  // Prices.
  const symbolsInput = h("input", { type: "text", name: "symbols", value: "MSFT, AAPL, GOOG", autocomplete: "off", required: true });
  const startPrices = h("button", { type: "submit", id: "prices-start" }, "Start");
  const stopPrices = h("button", { type: "button", id: "prices-stop", class: "secondary", disabled: true, onclick: () => stopPriceStream("Stopped.") }, "Stop");
  const priceStatus = h("p", { id: "prices-status", class: "outcome", role: "status" }, "Not streaming.");
  const chartBox = h("div", { class: "chart", id: "prices-chart", role: "img", "aria-label": "Live price chart; the table below has the same figures" });
  const priceRows = h("tbody", { id: "prices-table" });
  let priceStream: signalR.ISubscription<StockPrice> | null = null;
  let symbols: string[] = [];
  let plot: uPlot | null = null;
  let data: number[][] = [];
  let round: (number | null)[] | null = null;
  const latest = new Map<string, { price: number; first: number; ticks: number; row: HTMLTableRowElement }>();

  function setPriceStatus(text: string): void { priceStatus.textContent = text; }

  async function startPriceStream(): Promise<void> {
    stopPriceStream(null);
    symbols = symbolsInput.value.split(/[\s,;]+/).map((s) => s.trim().toUpperCase()).filter((s) => s.length > 0);
    symbols = [...new Set(symbols)];
    if (symbols.length === 0) { setPriceStatus("Enter at least one symbol."); return; }
    resetChart();
    setPriceStatus("Connecting…");
    try {
      const hub = await open();
      startPrices.disabled = true;
      stopPrices.disabled = false;
      priceStream = hub.stream<StockPrice>("StreamStockPrices", symbols).subscribe({
        next: onPrice,
        complete: () => stopPriceStream("The server ended the stream."),
        error: (error) => stopPriceStream(errorText(error)),
      });
      setPriceStatus(`Streaming ${symbols.length} symbol${symbols.length === 1 ? "" : "s"}: ${symbols.join(", ")}.`);
    } catch (error) {
      stopPriceStream(errorText(error));
    }
  }

  function stopPriceStream(status: string | null): void {
    const stream = priceStream;
    priceStream = null;
    stream?.dispose();
    startPrices.disabled = false;
    stopPrices.disabled = true;
    if (status !== null) setPriceStatus(status);
    element.dataset.streaming = "false";
  }

  function resetChart(): void {
    latest.clear();
    clear(priceRows);
    for (const symbol of symbols) {
      const row = h("tr", { "data-symbol": symbol, "data-ticks": 0 },
        h("th", { scope: "row" }, symbol), h("td", { class: "num" }, "—"), h("td", { class: "num" }, "—"), h("td", { class: "num" }, "0"), h("td", {}, "—"));
      priceRows.append(row);
      latest.set(symbol, { price: NaN, first: NaN, ticks: 0, row });
    }
    data = [[], ...symbols.map(() => [])];
    round = null;
    plot?.destroy();
    plot = new uPlot({
      width: Math.max(280, chartBox.clientWidth || 600),
      height: 260,
      scales: { x: { time: true } },
      axes: [{}, { size: 60 }],
      series: [{ label: "Time" }, ...symbols.map((symbol, i) => ({ label: symbol, stroke: colors[i % colors.length], width: 2, spanGaps: true }))],
      legend: { live: true },
    }, data as uPlot.AlignedData, chartBox);
  }

  function onPrice(price: StockPrice): void {
    element.dataset.streaming = "true";
    // The server keeps the first spelling of a symbol; match ignoring case.
    const index = symbols.findIndex((s) => s.toUpperCase() === price.symbol.toUpperCase());
    if (index < 0) return;
    // One round sends one price per symbol: a symbol seen twice starts the next row.
    if (!round || round[index + 1] !== null) {
      if (round) pushRound(round);
      round = [new Date(price.timestamp).getTime() / 1000, ...symbols.map(() => null)];
    }
    round[index + 1] = price.price;
    if (round.every((v) => v !== null)) { pushRound(round); round = null; }

    const entry = latest.get(symbols[index])!;
    if (Number.isNaN(entry.first)) entry.first = price.price;
    const change = entry.price;
    entry.price = price.price;
    entry.ticks++;
    const cells = entry.row.cells;
    cells[1].textContent = price.price.toFixed(2);
    cells[2].textContent = Number.isNaN(change) ? "—" : `${price.price >= change ? "+" : ""}${(price.price - change).toFixed(2)}`;
    cells[3].textContent = String(entry.ticks);
    cells[4].textContent = formatTime(price.timestamp);
    entry.row.dataset.ticks = String(entry.ticks);
  }

  function pushRound(values: (number | null)[]): void {
    values.forEach((v, i) => data[i].push(v as number));
    if (data[0].length > keepRounds) data.forEach((column) => column.shift());
    plot?.setData(data as uPlot.AlignedData);
  }

  new ResizeObserver(() => { if (plot && chartBox.clientWidth > 0) plot.setSize({ width: chartBox.clientWidth, height: 260 }); }).observe(chartBox);

  // Counter.
  const countInput = h("input", { type: "number", name: "count", value: 50, min: 0, max: 100000, required: true });
  const delayInput = h("input", { type: "number", name: "delay", value: 100, min: 0, max: 60000, required: true });
  const counterProgress = h("progress", { id: "counter-progress", max: 50, value: 0, "aria-labelledby": "counter-progress-label" });
  const counterValue = h("span", { id: "counter-value" }, "—");
  const counterStatus = h("p", { id: "counter-status", class: "outcome", role: "status" }, "Not counting.");
  const startCounter = h("button", { type: "submit", id: "counter-start" }, "Start");
  const stopCounter = h("button", { type: "button", id: "counter-stop", class: "secondary", disabled: true, onclick: () => stopCounting("Stopped.") }, "Stop");
  let counterStream: signalR.ISubscription<number> | null = null;

  async function startCounting(): Promise<void> {
    stopCounting(null);
    const count = Number(countInput.value);
    const delay = Number(delayInput.value);
    counterProgress.max = Math.max(1, count);
    counterProgress.value = 0;
    counterValue.textContent = `0 / ${count}`;
    try {
      const hub = await open();
      startCounter.disabled = true;
      stopCounter.disabled = false;
      counterStatus.textContent = "Counting…";
      let received = 0;
      counterStream = hub.stream<number>("StreamCounter", count, delay).subscribe({
        next: (n) => { received++; counterProgress.value = received; counterValue.textContent = `${n + 1} / ${count}`; },
        complete: () => stopCounting(`Completed: ${received} numbers.`),
        error: (error) => stopCounting(errorText(error)),
      });
    } catch (error) {
      stopCounting(errorText(error));
    }
  }

  function stopCounting(status: string | null): void {
    const stream = counterStream;
    counterStream = null;
    stream?.dispose();
    startCounter.disabled = false;
    stopCounter.disabled = true;
    if (status !== null) counterStatus.textContent = status;
  }

  const element = h("section", { id: "page-dashboard", class: "page", "aria-labelledby": "dashboard-heading", hidden: true },
    h("h1", { id: "dashboard-heading", tabindex: -1 }, "Live dashboard"),
    h("section", { class: "card", "aria-labelledby": "prices-heading" },
      h("h2", { id: "prices-heading" }, "Stock prices"),
      h("p", { class: "hint" }, "Simulated prices (a random walk), one per symbol each second, from StreamStockPrices."),
      h("form", { id: "prices-form", class: "inline-form", onsubmit: (e: SubmitEvent) => { e.preventDefault(); void startPriceStream(); } },
        field("symbols", "Symbols (comma separated)", symbolsInput), startPrices, stopPrices),
      priceStatus, chartBox,
      h("div", { class: "table-scroll" },
        h("table", { class: "data-table" },
          h("caption", {}, "Latest prices"),
          h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Symbol"), h("th", { scope: "col", class: "num" }, "Price"),
            h("th", { scope: "col", class: "num" }, "Change"), h("th", { scope: "col", class: "num" }, "Ticks"), h("th", { scope: "col" }, "At"))),
          priceRows))),
    h("section", { class: "card", "aria-labelledby": "counter-heading" },
      h("h2", { id: "counter-heading" }, "Counter"),
      h("form", { id: "counter-form", class: "inline-form", onsubmit: (e: SubmitEvent) => { e.preventDefault(); void startCounting(); } },
        field("counter-count", "Count", countInput), field("counter-delay", "Delay (ms)", delayInput), startCounter, stopCounter),
      h("div", { class: "progress-row" }, h("span", { id: "counter-progress-label" }, "Counter progress"), counterProgress, counterValue),
      counterStatus));

  return {
    id: "dashboard",
    title: "Dashboard",
    element,
    shown: () => { if (plot && chartBox.clientWidth > 0) plot.setSize({ width: chartBox.clientWidth, height: 260 }); },
  };
}
