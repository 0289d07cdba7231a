// Session replay with asciinema-player.
import * as AsciinemaPlayer from "asciinema-player";

export function mountReplay(el) {
  const player = AsciinemaPlayer.create(el.dataset.castUrl, el, {
    fit: "width",
    idleTimeLimit: 2,
    controls: true,
    preload: true,
    terminalFontFamily: 'ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace',
  });
  window.opsdojoReplay = player;
  return player;
}
