// opsdojo front end entry: mounts the browser terminal on
// [data-terminal-app] and the session replay on [data-replay].
import "./app.css";
import { mountTerminalApp } from "./terminal.js";
import { mountReplay } from "./replay.js";

// The workspace page (ui/static/workspace.js) mounts the terminal itself.
window.opsdojoTerminal = (el, opts) => mountTerminalApp(el, opts);

function start() {
  document.querySelectorAll("[data-terminal-app]").forEach((el) => mountTerminalApp(el));
  document.querySelectorAll("[data-replay]").forEach((el) => mountReplay(el));
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", start);
} else {
  start();
}
