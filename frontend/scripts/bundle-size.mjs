// Prints the gzipped size of the JavaScript the browser downloads, and fails the build past the
// budget (issue 14: at most 150 KB gzipped).
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

const BUDGET_BYTES = 150 * 1024;
const assets = join(import.meta.dirname, "..", "dist", "assets");
let total = 0;
for (const name of readdirSync(assets).filter((file) => file.endsWith(".js"))) {
  const size = gzipSync(readFileSync(join(assets, name)), { level: 9 }).length;
  total += size;
  console.log(`  ${name}: ${(size / 1024).toFixed(1)} KB gzipped`);
}
console.log(
  `JavaScript shipped to the browser: ${(total / 1024).toFixed(1)} KB gzipped ` +
    `(budget ${BUDGET_BYTES / 1024} KB)`,
);
if (total > BUDGET_BYTES) {
  console.error("over the JavaScript budget");
  process.exit(1);
}
