// Bundles ui/src into ui/dist (app.js + app.css) with esbuild.
//   node build.mjs          production build (minified, with source maps)
//   node build.mjs --watch  rebuild on change
//   node build.mjs --dev    with source maps
import * as esbuild from "esbuild";
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const outdir = join(here, "dist");
mkdirSync(outdir, { recursive: true });

const options = {
  entryPoints: { app: join(here, "src", "app.js") },
  outdir,
  bundle: true,
  format: "iife",
  target: ["es2020", "chrome100", "firefox100", "safari15"],
  minify: true,
  sourcemap: process.argv.includes("--dev") ? "linked" : false,
  legalComments: "linked",
  logLevel: "info",
  loader: { ".woff": "dataurl", ".woff2": "dataurl", ".wasm": "binary" },
  define: { "process.env.NODE_ENV": '"production"' },
};

if (process.argv.includes("--watch")) {
  const ctx = await esbuild.context(options);
  await ctx.watch();
  console.log("watching ui/src …");
} else {
  await esbuild.build(options);
}
