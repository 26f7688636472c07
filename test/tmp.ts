import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const made: string[] = [];
let hooked = false;

/** A fresh temporary folder, removed when the test process exits (pass or fail). */
export function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(dir);
  if (!hooked) {
    hooked = true;
    process.on('exit', () => {
      for (const d of made) {
        // Cleaning up must not fail a test run: a process a test started may still be writing.
        try {
          fs.rmSync(d, { recursive: true, force: true, maxRetries: 3 });
        } catch (e) {
          process.stderr.write(`could not remove the temporary folder ${d}: ${String(e)}\n`);
        }
      }
    });
  }
  return dir;
}
