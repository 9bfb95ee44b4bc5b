// Prints the raw and gzip size of the built client (dist/), the bytes a
// browser downloads on a first visit. Run after `npm run build`.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const dist = new URL('../dist/', import.meta.url).pathname;
let raw = 0;
let gz = 0;
const rows = [];
function walk(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (/\.(js|css|html)$/.test(name)) {
      const buf = readFileSync(p);
      const z = gzipSync(buf, { level: 9 }).length;
      raw += buf.length;
      gz += z;
      rows.push([p.slice(dist.length), buf.length, z]);
    }
  }
}
walk(dist);
for (const [f, r, z] of rows) console.log(`${f.padEnd(34)} ${String(r).padStart(8)} B  gzip ${String(z).padStart(7)} B`);
console.log(`${'total (js+css+html)'.padEnd(34)} ${String(raw).padStart(8)} B  gzip ${String(gz).padStart(7)} B (${(gz / 1024).toFixed(1)} KiB)`);
