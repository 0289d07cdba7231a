// Challenge workspace: timer, Check my work, hints, reset and the file
// editor. The terminal is mounted by the terminal bundle (app.js) on
// #terminal; the editor upgrades to CodeMirror when the bundle provides it.
const ws = document.getElementById("workspace");
const attempt = ws.dataset.attempt;
const csrf = ws.dataset.csrf;
const statusEl = document.getElementById("status");

async function api(method, path, body) {
  const opts = { method, headers: { "X-CSRF-Token": csrf, Accept: "application/json" } };
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  const res = await fetch(path, opts);
  let data = {};
  try { data = await res.json(); } catch (_) { /* empty body */ }
  if (!res.ok) {
    const msg = data.error ? data.error + (data.detail ? ": " + data.detail : "") : res.status + " " + res.statusText;
    throw new Error(msg);
  }
  return data;
}

function say(msg, kind) {
  statusEl.textContent = msg;
  statusEl.className = kind || "";
}

// ---- timer ----
const deadline = Date.parse(ws.dataset.deadline);
const timerEl = document.getElementById("timer");
function tick() {
  const left = Math.max(0, Math.floor((deadline - Date.now()) / 1000));
  const h = Math.floor(left / 3600), m = Math.floor((left % 3600) / 60), s = left % 60;
  timerEl.textContent = (h ? h + ":" : "") + String(m).padStart(2, "0") + ":" + String(s).padStart(2, "0");
  timerEl.classList.toggle("late", left < 300);
  if (left === 0) timerEl.textContent = "time is up";
}
if (!isNaN(deadline)) { tick(); setInterval(tick, 1000); }

// ---- results ----
function esc(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}
function renderResults(r) {
  const el = document.getElementById("results");
  const cost = r.hint_cost ? ` <small>(hints −${r.hint_cost})</small>` : "";
  el.innerHTML = `<h2>Score <span id="score">${r.score}</span>/${r.max_score}${cost}</h2><ul>` +
    r.checks.map((c) => `<li class="check ${c.passed ? "pass" : "fail"}" data-check="${esc(c.id)}"><span class="mark">${c.passed ? "✔" : c.timed_out ? "⏱" : "✘"}</span> <strong>${esc(c.title)}</strong> <span class="pts">${c.points}/${c.max_points}</span>${c.message ? `<pre>${esc(c.message)}</pre>` : ""}</li>`).join("") + "</ul>";
  showFindings(r.checks);
}

const checkBtn = document.getElementById("check-btn");
checkBtn?.addEventListener("click", async () => {
  checkBtn.disabled = true;
  say("Checking…");
  try {
    if (editor.dirty) await save();
    const r = await api("POST", `/api/v1/attempts/${attempt}/check`);
    if (r.state === "queued") { say(r.detail); return; }
    renderResults(r);
    say(`Checked: ${r.score}/${r.max_score}`, "ok");
  } catch (e) {
    say("Check failed: " + e.message, "error");
  } finally {
    checkBtn.disabled = false;
  }
});

// ---- hints ----
document.querySelectorAll(".hint-btn").forEach((b) => b.addEventListener("click", async () => {
  const cost = b.textContent.match(/−(\d+)/);
  if (cost && !confirm(`This hint costs ${cost[1]} points. Reveal it?`)) return;
  try {
    const h = await api("POST", `/api/v1/attempts/${attempt}/hints/${b.dataset.hint}`);
    const p = document.createElement("p");
    p.textContent = h.text;
    b.replaceWith(p);
  } catch (e) { say("Hint: " + e.message, "error"); }
}));

// ---- reset ----
document.getElementById("reset-btn")?.addEventListener("click", async (ev) => {
  if (!confirm("Throw this sandbox away and start from a fresh one? Your changes are lost.")) return;
  ev.target.disabled = true;
  say("Resetting…");
  try {
    await api("POST", `/api/v1/attempts/${attempt}/reset`);
    location.reload();
  } catch (e) { say("Reset failed: " + e.message, "error"); ev.target.disabled = false; }
});

// ---- editor ----
const textarea = document.getElementById("editor-text");
const editor = {
  dirty: false,
  path: null,
  get: () => (editor.cm ? editor.cm.getValue() : textarea.value),
  set: (v, lang) => { if (editor.cm) editor.cm.setValue(v, lang); else textarea.value = v; editor.dirty = false; },
};
textarea?.addEventListener("input", () => { editor.dirty = true; });
window.opsdojoEditorChanged = () => { editor.dirty = true; };

async function load(path, lang) {
  editor.path = path;
  try {
    const f = await api("GET", `/api/v1/attempts/${attempt}/files?path=${encodeURIComponent(path)}`);
    editor.set(f.content, lang);
    lintSoon();
  } catch (e) { say("Open " + path + ": " + e.message, "error"); }
}
async function save() {
  const st = document.getElementById("save-status");
  try {
    const r = await api("PUT", `/api/v1/attempts/${attempt}/files?path=${encodeURIComponent(editor.path)}`, { content: editor.get() });
    editor.dirty = false;
    st.textContent = `saved ${r.saved} bytes`;
    st.className = "ok";
  } catch (e) { st.textContent = "not saved: " + e.message; st.className = "error"; throw e; }
}
function showFindings(checks) {
  const ul = document.getElementById("findings");
  if (!ul) return;
  ul.innerHTML = "";
  for (const c of checks || []) {
    if (c.passed || !c.message) continue;
    for (const line of c.message.split("\n")) {
      const m = line.match(/(?:^|:)(\d+)(?::\d+)?:\s|^line (\d+):/);
      if (!m) continue;
      const li = document.createElement("li");
      li.textContent = line;
      ul.appendChild(li);
    }
  }
  if (editor.cm && editor.cm.showFindings) editor.cm.showFindings([...ul.children].map((li) => li.textContent));
}
// Live lint of workflow files (.github/workflows/*.yml): actionlint on the
// server, problems shown on their lines as the candidate types.
let lintTimer = null;
function isWorkflow(p) { return /(^|\/)\.github\/workflows\/[^/]+\.ya?ml$/.test(p || ""); }
function lintSoon() {
  if (!isWorkflow(editor.path) || !editor.cm || !editor.cm.showFindings) return;
  clearTimeout(lintTimer);
  lintTimer = setTimeout(async () => {
    const path = editor.path;
    try {
      const r = await api("POST", "/api/v1/lint/workflow", { path, content: editor.get() });
      if (editor.path !== path) return;
      const ul = document.getElementById("findings");
      if (ul) ul.innerHTML = r.lines.map((l) => `<li>${esc(l)}</li>`).join("");
      editor.cm.showFindings(r.lines);
    } catch (_) { /* lint is advisory */ }
  }, 500);
}
document.getElementById("save-btn")?.addEventListener("click", () => save().catch(() => {}));
document.querySelectorAll("#file-tabs .tab").forEach((t) => t.addEventListener("click", async () => {
  if (editor.dirty && !confirm("Discard unsaved changes to " + editor.path + "?")) return;
  document.querySelectorAll("#file-tabs .tab").forEach((x) => x.classList.toggle("active", x === t));
  await load(t.dataset.path, t.dataset.language);
}));
if (textarea) {
  if (window.opsdojoMountEditor) editor.cm = window.opsdojoMountEditor(document.getElementById("editor"), textarea, () => { editor.dirty = true; lintSoon(); });
  const first = document.querySelector("#file-tabs .tab");
  if (first) load(first.dataset.path, first.dataset.language);
}
window.addEventListener("beforeunload", (e) => { if (editor.dirty) { e.preventDefault(); e.returnValue = ""; } });

// ---- terminal ----
if (window.opsdojoTerminal) window.opsdojoTerminal(document.getElementById("terminal"), { attempt, csrf });
document.addEventListener("opsdojo:check-result", (e) => renderResults(e.detail));
