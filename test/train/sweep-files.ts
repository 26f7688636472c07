import * as fs from 'node:fs';
import * as path from 'node:path';

/** A variable's name in a checkpoint: tfjs makes it unique per process (a counter suffix). */
function tfName(key: string, value: unknown): boolean {
  return key === 'name' && typeof value === 'string' && value.includes('/');
}

/** Everything a sweep writes, with the wall-clock fields left out. */
export function sweepFiles(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.bin')) out[path.relative(dir, p)] = fs.readFileSync(p, 'base64');
      else if (e.name.endsWith('.json'))
        out[path.relative(dir, p)] = JSON.stringify(
          JSON.parse(fs.readFileSync(p, 'utf8'), (k, v: unknown) =>
            k === 'seconds' || k === 'savedAt' || k === 'checksum' || k === 'dir' || tfName(k, v)
              ? undefined
              : v,
          ),
        );
    }
  };
  walk(dir);
  return out;
}
