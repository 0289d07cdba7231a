// opsdojo front end entry: mounts the browser terminal on
// [data-terminal-app], the session replay on [data-replay], and the small
// data-* page behaviours of pages.js (no inline script: see the CSP in
// server/pages.go).
import "./app.css";
import { mountTerminalApp } from "./terminal.js";
import { mountReplay } from "./replay.js";
import { mountEditor } from "./editor.js";
import { mountPageBehaviours } from "./pages.js";

// The workspace page (ui/static/workspace.js) mounts the terminal itself.
window.opsdojoTerminal = (el, opts) => mountTerminalApp(el, opts);
// … and the CodeMirror editor over its textarea.
window.opsdojoMountEditor = (host, textarea, onChange) => mountEditor(host, textarea, onChange);

function start() {
  if (window.opsdojoStarted) return; // the bundle was included twice
  window.opsdojoStarted = true;
  document.querySelectorAll("[data-terminal-app]").forEach((el) => mountTerminalApp(el));
  document.querySelectorAll("[data-replay]").forEach((el) => mountReplay(el));
  mountPageBehaviours(document);
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", start);
} else {
  start();
}
