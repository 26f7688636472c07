/**
 * Images per second for decode + resize to 299x299 (the full study's size) with 2 workers, on
 * ~200 generated JPEGs of 400-800 px, through the same code path as the data preparation
 * (scanImageFolder with a cache: read, hash, decode, resize, write the cache entry).
 *
 *   npm run bench:decode       # builds, then: 200 images, 2 workers, 299 px
 *   node dist/bench/decode.js --images 100 --workers 1 --size 150
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { scanImageFolder } from '../lib/data/imageFolder';
import { Rng } from '../lib/util/rng';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

/** A photo-like JPEG: smooth colour fields plus noise, so the encoder cannot cheat on flat areas. */
async function makeJpeg(rng: Rng, width: number, height: number): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * 3);
  const base = [rng.int(256), rng.int(256), rng.int(256)];
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      for (let c = 0; c < 3; c++) {
        const v = base[c]! + 60 * Math.sin((x + 7 * c) / 23) * Math.cos(y / 31) + rng.int(40) - 20;
        raw[o + c] = Math.max(0, Math.min(255, Math.round(v)));
      }
    }
  return sharp(raw, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 85 })
    .toBuffer();
}

async function main(): Promise<void> {
  const count = arg('images', 200);
  const workers = arg('workers', 2);
  const size = arg('size', 299);
  // One libvips thread per job: the pool's width is then the number of cores used.
  sharp.concurrency(1);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'artstyle-bench-decode-'));
  try {
    const root = path.join(dir, 'data');
    const rng = new Rng(1234);
    let pixels = 0;
    for (let i = 0; i < count; i++) {
      const w = 400 + rng.int(401);
      const h = 400 + rng.int(401);
      pixels += w * h;
      const cls = `class${i % 4}`;
      fs.mkdirSync(path.join(root, cls), { recursive: true });
      fs.writeFileSync(path.join(root, cls, `img${i}.jpg`), await makeJpeg(rng, w, h));
    }
    const cache = { cacheDir: path.join(dir, 'cache'), imageSize: size };
    const t0 = performance.now();
    const first = await scanImageFolder(root, { cache, concurrency: workers, progressLabel: null });
    const t1 = performance.now();
    const second = await scanImageFolder(root, {
      cache,
      concurrency: workers,
      progressLabel: null,
    });
    const t2 = performance.now();
    const s1 = (t1 - t0) / 1000;
    const s2 = (t2 - t1) / 1000;
    console.log(
      `decode+resize to ${size}x${size}, ${workers} workers, ${first.stats.decoded} JPEGs ` +
        `(mean ${(pixels / count / 1e6).toFixed(2)} MP): ${(first.stats.decoded / s1).toFixed(1)} images/s (${s1.toFixed(2)} s)`,
    );
    console.log(
      `second run (cache hits, ${second.stats.decoded} decodes): ${(count / s2).toFixed(1)} images/s (${s2.toFixed(2)} s)`,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
