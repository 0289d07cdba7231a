// The file editor of the challenge workspace: CodeMirror 6 with syntax
// highlighting for the files challenges ship (Dockerfile, Terraform/HCL,
// YAML, JSON, shell, Python, nginx, ini/toml) and the grader's static
// findings shown inline as diagnostics on their lines.
import { EditorView, basicSetup } from "codemirror";
import { EditorState, Compartment } from "@codemirror/state";
import { StreamLanguage } from "@codemirror/language";
import { setDiagnostics, lintGutter } from "@codemirror/lint";
import { oneDark } from "@codemirror/theme-one-dark";
import { yaml } from "@codemirror/lang-yaml";
import { json } from "@codemirror/lang-json";
import { python } from "@codemirror/lang-python";
import { hcl } from "codemirror-lang-hcl";
import { dockerFile } from "@codemirror/legacy-modes/mode/dockerfile";
import { shell } from "@codemirror/legacy-modes/mode/shell";
import { toml } from "@codemirror/legacy-modes/mode/toml";
import { nginx } from "@codemirror/legacy-modes/mode/nginx";
import { properties } from "@codemirror/legacy-modes/mode/properties";

function languageFor(lang, path) {
  const name = (lang || "").toLowerCase();
  const base = (path || "").split("/").pop().toLowerCase();
  if (name === "dockerfile" || base === "dockerfile" || base.endsWith(".dockerfile")) return StreamLanguage.define(dockerFile);
  if (name === "terraform" || name === "hcl" || /\.(tf|hcl|tfvars)$/.test(base)) return hcl();
  if (name === "yaml" || /\.ya?ml$/.test(base)) return yaml();
  if (name === "json" || base.endsWith(".json")) return json();
  if (name === "python" || base.endsWith(".py")) return python();
  if (name === "shell" || /\.(sh|bash)$/.test(base)) return StreamLanguage.define(shell);
  if (name === "toml" || base.endsWith(".toml")) return StreamLanguage.define(toml);
  if (name === "nginx" || base.endsWith(".conf") && path.includes("nginx")) return StreamLanguage.define(nginx);
  if (name === "ini" || /\.(ini|conf|cfg|properties)$/.test(base)) return StreamLanguage.define(properties);
  return [];
}

// Findings look like "line 3: DF001 …", "/workspace/main.tf:12: …" or
// "file:12:5: …"; the line number is what the editor needs.
function lineOf(text) {
  let m = text.match(/^line (\d+):/);
  if (m) return +m[1];
  m = text.match(/:(\d+)(?::\d+)?:\s/);
  return m ? +m[1] : 0;
}

export function mountEditor(host, textarea, onChange) {
  const language = new Compartment();
  const view = new EditorView({
    parent: host,
    state: EditorState.create({
      doc: textarea.value,
      extensions: [
        basicSetup,
        oneDark,
        lintGutter(),
        language.of([]),
        EditorView.updateListener.of((u) => {
          if (u.docChanged) {
            textarea.value = u.state.doc.toString();
            onChange && onChange();
          }
        }),
        EditorView.theme({ "&": { height: "18rem" }, ".cm-scroller": { overflow: "auto" } }),
      ],
    }),
  });
  textarea.style.display = "none";
  host.dataset.editor = "codemirror";
  return {
    view,
    getValue: () => view.state.doc.toString(),
    setValue(text, lang) {
      const path = document.querySelector("#file-tabs .tab.active")?.dataset.path || "";
      view.dispatch({
        changes: { from: 0, to: view.state.doc.length, insert: text },
        effects: language.reconfigure(languageFor(lang, path)),
      });
      textarea.value = text;
    },
    showFindings(lines) {
      const doc = view.state.doc;
      const diags = [];
      for (const text of lines) {
        const n = lineOf(text);
        if (n < 1 || n > doc.lines) continue;
        const line = doc.line(n);
        diags.push({ from: line.from, to: line.to, severity: "error", message: text });
      }
      view.dispatch(setDiagnostics(view.state, diags));
    },
  };
}
