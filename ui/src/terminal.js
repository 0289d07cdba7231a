// Browser terminal: one xterm.js instance and one websocket per tab.
// Protocol (docs/TERMINAL.md): binary frames carry raw bytes both ways,
// text frames carry JSON control messages.
import { Terminal } from "@xterm/xterm";
import { FitAddon } from "@xterm/addon-fit";
import { WebglAddon } from "@xterm/addon-webgl";

// Must match the server (terminal/protocol.go).
const CHUNK_BYTES = 16 * 1024; // input frame size (server refuses > 64 KiB)
const RESIZE_DEBOUNCE_MS = 120;
const RECONNECT_BASE_MS = 1000;
const RECONNECT_MAX_MS = 15000;
const RECONNECT_MAX_TRIES = 40; // ~10 minutes, then the user clicks
const CLIENT_PING_MS = 25000;

// Close codes (terminal/protocol.go).
const CLOSE = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  UNSUPPORTED: 1003,
  POLICY: 1008,
  TOO_BIG: 1009,
  INTERNAL: 1011,
  TICKET: 4001,
  SANDBOX_GONE: 4004,
  IDLE: 4008,
  TAKEN_OVER: 4009,
  TOO_MANY: 4029,
};

const encoder = new TextEncoder();

function csrfHeaders(token) {
  const h = { Accept: "application/json" };
  if (!token) {
    const meta = document.querySelector('meta[name="csrf-token"]');
    token = meta && meta.content;
  }
  if (token) h["X-CSRF-Token"] = token;
  return h;
}

class TicketError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function fetchTicket(ticketURL, csrf) {
  let resp;
  try {
    resp = await fetch(ticketURL, { method: "POST", credentials: "same-origin", headers: csrfHeaders(csrf) });
  } catch (err) {
    throw new TicketError(0, "The server cannot be reached.");
  }
  if (!resp.ok) {
    let detail = "";
    try {
      const body = await resp.json();
      detail = body.detail || body.error || "";
    } catch (_) {
      /* not JSON */
    }
    throw new TicketError(resp.status, detail || `The server refused the terminal (HTTP ${resp.status}).`);
  }
  return resp.json();
}

// A tab: terminal name, xterm, websocket, reconnect logic.
class TerminalTab {
  constructor(app, name) {
    this.app = app;
    this.name = name;
    this.state = "connecting";
    this.message = "";
    this.tries = 0;
    this.ws = null;
    this.timer = null;
    this.exited = false;
    this.final = false; // no automatic reconnect (sandbox gone, taken over)
    this.lastSize = { cols: 0, rows: 0 };

    this.pane = document.createElement("div");
    this.pane.className = "od-pane";
    this.pane.dataset.term = name;
    app.panes.appendChild(this.pane);

    this.button = document.createElement("button");
    this.button.type = "button";
    this.button.className = "od-tab";
    this.button.setAttribute("role", "tab");
    this.button.innerHTML = '<span class="od-dot"></span>';
    this.button.append(`Terminal ${name}`);
    this.button.addEventListener("click", () => app.show(this));
    app.tabs.insertBefore(this.button, app.addButton);

    this.term = new Terminal({
      cursorBlink: true,
      fontFamily: 'ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace',
      fontSize: 14,
      scrollback: 5000,
      allowProposedApi: false,
      rightClickSelectsWord: false,
      theme: { background: "#0a0e14", foreground: "#e6e1cf", cursor: "#ffb454", selectionBackground: "#273747" },
    });
    this.fit = new FitAddon();
    this.term.loadAddon(this.fit);
    this.term.open(this.pane);
    this.renderer = "dom";
    try {
      const webgl = new WebglAddon();
      webgl.onContextLoss(() => {
        webgl.dispose(); // falls back to the DOM renderer
        this.renderer = "dom";
      });
      this.term.loadAddon(webgl);
      this.renderer = "webgl";
    } catch (err) {
      console.info("opsdojo: WebGL renderer unavailable, using the DOM renderer", err);
    }

    this.term.onData((data) => this.input(data));
    this.term.onBinary((data) => {
      const bytes = new Uint8Array(data.length);
      for (let i = 0; i < data.length; i++) bytes[i] = data.charCodeAt(i) & 0xff;
      this.sendBytes(bytes);
    });
    this.term.attachCustomKeyEventHandler((ev) => this.keys(ev));
    // Right-click copies a selection; without one the browser's own menu
    // (with Paste) appears over xterm's textarea.
    this.pane.addEventListener("contextmenu", (ev) => {
      if (this.term.hasSelection()) {
        ev.preventDefault();
        this.copy();
      }
    });

    let pending = null;
    this.observer = new ResizeObserver(() => {
      clearTimeout(pending);
      pending = setTimeout(() => this.refit(), RESIZE_DEBOUNCE_MS);
    });
    this.observer.observe(this.pane);
    this.refit();
    this.connect();
  }

  keys(ev) {
    if (ev.type !== "keydown") return true;
    const mod = ev.ctrlKey && ev.shiftKey && !ev.altKey && !ev.metaKey;
    if (mod && (ev.key === "C" || ev.key === "c")) {
      this.copy();
      ev.preventDefault();
      return false;
    }
    if (mod && (ev.key === "V" || ev.key === "v")) {
      // Let the browser fire its paste event (xterm handles it); read the
      // clipboard ourselves only when that API is available.
      if (navigator.clipboard && navigator.clipboard.readText) {
        ev.preventDefault();
        navigator.clipboard.readText().then(
          (text) => this.term.paste(text),
          () => this.app.flash("Paste blocked by the browser: use the right-click menu or Ctrl+V."),
        );
        return false;
      }
      return false;
    }
    if (ev.key === "Enter" && this.exited && this.state === "exited") {
      this.exited = false;
      this.term.write("\r\n");
      this.connect();
      return false;
    }
    return true;
  }

  copy() {
    const text = this.term.getSelection();
    if (!text) return;
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).catch(() => document.execCommand && document.execCommand("copy"));
    } else if (document.execCommand) {
      document.execCommand("copy");
    }
  }

  refit() {
    if (this.pane.hidden || !this.pane.isConnected) return;
    try {
      this.fit.fit();
    } catch (_) {
      return;
    }
    const { cols, rows } = this.term;
    if (cols === this.lastSize.cols && rows === this.lastSize.rows) return;
    this.lastSize = { cols, rows };
    this.control({ type: "resize", cols, rows });
  }

  input(data) {
    if (this.state !== "connected") return;
    this.sendBytes(encoder.encode(data));
  }

  sendBytes(bytes) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return;
    for (let off = 0; off < bytes.length; off += CHUNK_BYTES) {
      this.ws.send(bytes.subarray(off, Math.min(off + CHUNK_BYTES, bytes.length)));
    }
  }

  control(msg) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
  }

  setState(state, message, action) {
    this.state = state;
    this.message = message || "";
    this.action = action || null;
    this.button.dataset.state = state;
    this.app.render(this);
  }

  async connect() {
    clearTimeout(this.timer);
    this.final = false;
    this.setState(this.tries ? "reconnecting" : "connecting", this.tries ? `Reconnecting (attempt ${this.tries + 1})…` : "Connecting…");
    let ticket;
    try {
      ticket = await fetchTicket(this.app.ticketURL.replace(/\{term\}|%7Bterm%7D/i, encodeURIComponent(this.name)), this.app.csrf);
    } catch (err) {
      if (err.status >= 400 && err.status < 500 && err.status !== 429) {
        this.final = true;
        this.setState("error", err.message, { label: "Retry", run: () => this.retry() });
        return;
      }
      this.scheduleReconnect(err.message);
      return;
    }
    const proto = location.protocol === "https:" ? "wss://" : "ws://";
    const { cols, rows } = this.term;
    const ws = new WebSocket(`${proto}${location.host}${ticket.url}&cols=${cols}&rows=${rows}`);
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    ws.onmessage = (ev) => this.message_(ev);
    ws.onclose = (ev) => this.closed(ws, ev);
    ws.onerror = () => {}; // onclose follows with the code
  }

  message_(ev) {
    if (typeof ev.data !== "string") {
      this.term.write(new Uint8Array(ev.data));
      return;
    }
    let msg;
    try {
      msg = JSON.parse(ev.data);
    } catch (_) {
      return;
    }
    switch (msg.type) {
      case "hello":
        this.tries = 0;
        // A resumed shell replays its scrollback next: start clean.
        if (msg.resumed) this.term.reset();
        this.lastSize = { cols: msg.cols, rows: msg.rows };
        this.setState("connected", msg.resumed ? "Reconnected to your shell." : "Connected.");
        this.refit();
        this.startPing();
        break;
      case "exit":
        this.exited = true;
        this.term.write(`\r\n\x1b[2m[shell exited with code ${msg.code}; press Enter for a new shell]\x1b[0m\r\n`);
        break;
      case "status":
        if (msg.state === "sandbox-gone") this.final = true;
        if (msg.state === "taken-over") this.final = true;
        break;
      case "error":
        console.warn("opsdojo terminal:", msg.message);
        break;
      case "check":
        // The workspace page renders results on opsdojo:check-result.
        document.dispatchEvent(new CustomEvent("opsdojo:check-result", { detail: msg.result }));
        break;
      default:
        document.dispatchEvent(new CustomEvent("opsdojo:terminal-event", { detail: msg }));
    }
  }

  startPing() {
    clearInterval(this.pinger);
    this.pinger = setInterval(() => this.control({ type: "ping" }), CLIENT_PING_MS);
  }

  closed(ws, ev) {
    if (ws !== this.ws) return;
    clearInterval(this.pinger);
    this.ws = null;
    const reason = ev.reason ? `: ${ev.reason}` : "";
    switch (ev.code) {
      case CLOSE.NORMAL:
        if (this.exited) {
          this.setState("exited", "The shell exited. Press Enter in the terminal for a new one.", { label: "New shell", run: () => this.retry() });
          return;
        }
        this.scheduleReconnect(`Connection closed${reason}`);
        return;
      case CLOSE.SANDBOX_GONE:
        this.setState("gone", "Your sandbox has expired or was removed, so this terminal is closed. Start the challenge again to get a new one.");
        this.term.write("\r\n\x1b[31m[sandbox closed]\x1b[0m\r\n");
        return;
      case CLOSE.TAKEN_OVER:
        this.setState("taken-over", "This terminal was opened in another window or tab.", { label: "Use it here", run: () => this.retry() });
        return;
      case CLOSE.TOO_MANY:
        this.setState("error", `Too many terminals${reason}`, { label: "Retry", run: () => this.retry() });
        return;
      case CLOSE.TOO_BIG:
      case CLOSE.UNSUPPORTED:
      case CLOSE.POLICY:
        this.scheduleReconnect(`The server closed the connection${reason}`);
        return;
      default:
        // 1001 server restart, 1006 network drop, 1011, 4001 stale ticket,
        // 4008 idle: the shell waits on the server for a while; come back.
        this.scheduleReconnect(ev.code === CLOSE.GOING_AWAY ? `The server is restarting${reason}` : `Connection lost${reason}`);
    }
  }

  scheduleReconnect(why) {
    if (this.final) return;
    this.tries++;
    if (this.tries > RECONNECT_MAX_TRIES) {
      this.setState("error", `${why}. Gave up reconnecting.`, { label: "Reconnect", run: () => this.retry() });
      return;
    }
    const delay = Math.min(RECONNECT_MAX_MS, RECONNECT_BASE_MS * 2 ** Math.min(this.tries - 1, 4));
    const due = Date.now() + delay;
    const tick = () => {
      const left = Math.max(0, Math.ceil((due - Date.now()) / 1000));
      this.setState("reconnecting", `${why}. Reconnecting in ${left}s (attempt ${this.tries})…`, { label: "Reconnect now", run: () => this.retry() });
      if (left > 0) this.timer = setTimeout(tick, 1000);
      else this.connect();
    };
    tick();
  }

  retry() {
    clearTimeout(this.timer);
    this.tries = 0;
    this.exited = false;
    if (this.ws) this.ws.close(1000);
    this.connect();
  }

  focus() {
    this.term.focus();
  }
}

// The terminal page: tabs, status line, panes.
class TerminalApp {
  constructor(el, opts) {
    this.el = el;
    const attempt = opts.attempt || el.dataset.attempt;
    this.ticketURL = opts.ticketURL || el.dataset.ticketUrl || `/api/v1/attempts/${encodeURIComponent(attempt)}/terminals/{term}/ticket`;
    this.csrf = opts.csrf || el.dataset.csrf || "";
    this.max = parseInt(opts.maxTerminals || el.dataset.maxTerminals || "8", 10);
    el.classList.add("od-terminal-page");
    for (const [cls, role] of [["od-tabs", "tablist"], ["od-status", "status"], ["od-panes", ""]]) {
      if (!el.querySelector("." + cls)) {
        const d = document.createElement("div");
        d.className = cls;
        if (role) d.setAttribute("role", role);
        if (role === "status") d.setAttribute("aria-live", "polite");
        el.appendChild(d);
      }
    }
    this.tabs = el.querySelector(".od-tabs");
    this.status = el.querySelector(".od-status");
    this.panes = el.querySelector(".od-panes");
    this.list = [];
    this.addButton = document.createElement("button");
    this.addButton.type = "button";
    this.addButton.className = "od-tab-add";
    this.addButton.title = "Open another terminal";
    this.addButton.textContent = "+";
    this.addButton.addEventListener("click", () => this.add());
    this.tabs.appendChild(this.addButton);
    window.addEventListener("online", () => this.list.forEach((t) => t.state === "reconnecting" && t.retry()));
    this.add(opts.term || el.dataset.firstTerminal || "1");
  }

  add(name) {
    if (this.list.length >= this.max) {
      this.flash(`At most ${this.max} terminals.`);
      return;
    }
    if (!name) {
      for (let i = 1; i <= this.max; i++) {
        if (!this.list.some((t) => t.name === String(i))) {
          name = String(i);
          break;
        }
      }
    }
    const tab = new TerminalTab(this, name);
    this.list.push(tab);
    this.show(tab);
    return tab;
  }

  show(tab) {
    this.current = tab;
    for (const t of this.list) {
      t.pane.hidden = t !== tab;
      t.button.setAttribute("aria-selected", String(t === tab));
    }
    tab.refit();
    tab.focus();
    this.render(tab);
  }

  render(tab) {
    if (tab !== this.current) return;
    this.status.dataset.state = tab.state;
    this.status.textContent = tab.message;
    if (tab.action) {
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = tab.action.label;
      b.addEventListener("click", tab.action.run);
      this.status.appendChild(b);
    }
  }

  flash(text) {
    this.status.textContent = text;
  }
}

// mountTerminalApp mounts the terminal (tabs, status line, panes) on el.
// opts: {attempt, csrf, ticketURL (with {term}), term, maxTerminals}; each
// falls back to el's data-* attribute of the same name.
export function mountTerminalApp(el, opts = {}) {
  if (el.opsdojoTerminal) return el.opsdojoTerminal;
  const app = new TerminalApp(el, opts);
  el.opsdojoTerminal = app;
  // Tests and the web app reach the terminals through this handle.
  window.opsdojoTerminals = window.opsdojoTerminals || [];
  window.opsdojoTerminals.push(app);
  return app;
}
