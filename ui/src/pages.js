// Small page behaviours that used to be inline <script> blocks and on*
// attributes in ui/templates. The Content-Security-Policy (server/pages.go)
// allows scripts only from our origin, so templates declare behaviour with
// data-* attributes and this module wires it up:
//
//   <form data-confirm="Submit?">          asks before submitting
//   <input data-select-on-click>           selects its text when clicked
//   <button data-print>                    prints the page
//   <span data-countdown="ISO-8601">       counts down to the instant; at 0
//                                          it turns red and reloads the page
//   <div data-reload-after="3000" hidden>  reloads the page after N ms

function formatLeft(s) {
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  return (h ? h + ":" + String(m).padStart(2, "0") : m) + ":" + String(r).padStart(2, "0");
}

function mountCountdown(el) {
  const end = Date.parse(el.dataset.countdown);
  if (Number.isNaN(end)) return;
  const tick = () => {
    const s = Math.max(0, Math.floor((end - Date.now()) / 1000));
    el.textContent = formatLeft(s);
    if (s === 0) {
      el.classList.add("late");
      setTimeout(() => location.reload(), 3000);
      return;
    }
    setTimeout(tick, 1000);
  };
  tick();
}

export function mountPageBehaviours(root = document) {
  root.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (ev) => {
      if (!window.confirm(form.dataset.confirm)) ev.preventDefault();
    });
  });
  root.querySelectorAll("[data-select-on-click]").forEach((el) => {
    el.addEventListener("click", () => el.select());
  });
  root.querySelectorAll("[data-print]").forEach((el) => {
    el.addEventListener("click", () => window.print());
  });
  root.querySelectorAll("[data-countdown]").forEach(mountCountdown);
  root.querySelectorAll("[data-reload-after]").forEach((el) => {
    const ms = parseInt(el.dataset.reloadAfter, 10);
    if (ms > 0) setTimeout(() => location.reload(), ms);
  });
}
