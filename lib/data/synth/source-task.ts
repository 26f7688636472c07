import { check } from '../../util/errors';
import { Rng } from '../../util/rng';
import { clamp, hsv, Raster, Rgb, valueNoise } from './raster';

/**
 * The "source" task on which the small stand-in bases are pretrained instead of ImageNet:
 * generic textures and shapes (edges, periodic patterns, blobs, corners), never the art styles,
 * so that fine-tuning on the styles is transfer as in the studies and not a head start.
 */
export const SOURCE_CLASSES = [
  'stripes',
  'checkers',
  'dots',
  'blobs',
  'gradient',
  'rings',
  'triangles',
  'smooth-noise',
  'speckle',
  'grid',
] as const;

export interface SourceTaskOptions {
  seed: number;
  /** Number of images; classes are balanced (label = index mod class count, then shuffled). */
  count: number;
  /** Side of the square images in pixels. */
  size: number;
}

export interface SourceTask {
  /** NHWC RGB, values 0..255. */
  images: Float32Array;
  labels: Int32Array;
  classNames: string[];
  size: number;
}

function randomColour(rng: Rng): Rgb {
  return hsv(rng.uniform(), rng.range(0.1, 1), rng.range(0.15, 1));
}

type Drawer = (img: Raster, rng: Rng, a: Rgb, b: Rgb) => void;

const DRAW: Record<(typeof SOURCE_CLASSES)[number], Drawer> = {
  stripes(img, rng, a, b) {
    const angle = rng.range(0, Math.PI);
    const period = rng.range(3, img.width / 3);
    const ca = Math.cos(angle);
    const sa = Math.sin(angle);
    for (let y = 0; y < img.height; y++) {
      for (let x = 0; x < img.width; x++) {
        const on = Math.sin(((x * ca + y * sa) / period) * Math.PI * 2) > 0;
        img.blend(x, y, on ? a : b, 1);
      }
    }
  },
  checkers(img, rng, a, b) {
    const s = rng.range(3, img.width / 3);
    const angle = rng.range(0, Math.PI / 2);
    const ca = Math.cos(angle);
    const sa = Math.sin(angle);
    for (let y = 0; y < img.height; y++) {
      for (let x = 0; x < img.width; x++) {
        const u = Math.floor((x * ca + y * sa) / s);
        const v = Math.floor((-x * sa + y * ca) / s);
        img.blend(x, y, (u + v) % 2 === 0 ? a : b, 1);
      }
    }
  },
  dots(img, rng, a, b) {
    img.fill(b);
    const s = rng.range(4, img.width / 4);
    const r = s * rng.range(0.15, 0.4);
    const ox = rng.uniform() * s;
    for (let y = -s; y < img.height + s; y += s) {
      for (let x = -s; x < img.width + s; x += s) img.ellipse(x + ox, y + ox, r, r, 0, a);
    }
  },
  blobs(img, rng, a, b) {
    img.fill(b);
    const n = 2 + rng.int(6);
    for (let k = 0; k < n; k++) {
      const r = img.width * rng.range(0.08, 0.3);
      img.ellipse(
        rng.uniform() * img.width,
        rng.uniform() * img.height,
        r,
        r * rng.range(0.5, 1.5),
        rng.range(0, Math.PI),
        k % 2 ? a : randomColour(rng),
      );
    }
  },
  gradient(img, rng, a, b) {
    img.gradient(a, b, rng.range(0, Math.PI * 2));
  },
  rings(img, rng, a, b) {
    const cx = rng.uniform() * img.width;
    const cy = rng.uniform() * img.height;
    const period = rng.range(3, img.width / 4);
    for (let y = 0; y < img.height; y++) {
      for (let x = 0; x < img.width; x++) {
        const on = Math.sin((Math.hypot(x - cx, y - cy) / period) * Math.PI * 2) > 0;
        img.blend(x, y, on ? a : b, 1);
      }
    }
  },
  triangles(img, rng, a, b) {
    img.fill(b);
    const n = 1 + rng.int(5);
    for (let k = 0; k < n; k++) {
      const cx = rng.uniform() * img.width;
      const cy = rng.uniform() * img.height;
      const r = img.width * rng.range(0.1, 0.35);
      const t = rng.range(0, Math.PI * 2);
      const pts: [number, number][] = [0, 1, 2].map((j) => [
        cx + Math.cos(t + (j * 2 * Math.PI) / 3) * r,
        cy + Math.sin(t + (j * 2 * Math.PI) / 3) * r,
      ]);
      img.polygon(pts, k % 2 ? randomColour(rng) : a);
    }
  },
  'smooth-noise'(img, rng, a, b) {
    const f = valueNoise(rng, img.width, img.height, rng.range(4, img.width / 2), 2);
    for (let p = 0; p < f.length; p++) {
      const t = clamp(0.5 + 0.8 * (f[p] as number), 0, 1);
      img.blend(p % img.width, Math.floor(p / img.width), a, 1);
      img.blend(p % img.width, Math.floor(p / img.width), b, t);
    }
  },
  speckle(img, rng, a, b) {
    img.fill(b);
    const density = rng.range(0.05, 0.4);
    for (let y = 0; y < img.height; y++) {
      for (let x = 0; x < img.width; x++) if (rng.uniform() < density) img.blend(x, y, a, 1);
    }
  },
  grid(img, rng, a, b) {
    img.fill(b);
    const s = rng.range(4, img.width / 3);
    const w = rng.range(1, Math.max(1.5, s / 3));
    for (let x = rng.uniform() * s; x < img.width; x += s) img.stroke(x, 0, x, img.height, w, a);
    for (let y = rng.uniform() * s; y < img.height; y += s) img.stroke(0, y, img.width, y, w, a);
  },
};

/** Checks a source task's options, naming the bad one; sizes from `minSize` to `maxSize`. */
export function checkTaskOptions(
  opts: { seed: number; count: number; size: number },
  minSize: number,
  maxSize: number,
): void {
  check(Number.isInteger(opts.seed), 'seed', `expected an integer, got ${opts.seed}`);
  check(
    Number.isInteger(opts.count) && opts.count > 0,
    'count',
    `expected a positive integer, got ${opts.count}`,
  );
  check(
    Number.isInteger(opts.size) && opts.size >= minSize && opts.size <= maxSize,
    'size',
    `expected an integer from ${minSize} to ${maxSize}, got ${opts.size}`,
  );
}

/** Generates the source task in memory; the same options give the same arrays. */
export function generateSourceTask(opts: SourceTaskOptions): SourceTask {
  checkTaskOptions(opts, 8, 512);
  const { count, size } = opts;
  const root = new Rng(opts.seed).fork('source-task');
  const labels = new Int32Array(count);
  const order = root.fork('order').shuffle(Array.from({ length: count }, (_, i) => i));
  order.forEach((slot, i) => (labels[slot] = i % SOURCE_CLASSES.length));
  const images = new Float32Array(count * size * size * 3);
  for (let i = 0; i < count; i++) {
    const rng = root.fork(`image/${i}`);
    const img = new Raster(size, size);
    const a = randomColour(rng);
    let b = randomColour(rng);
    // Keep the two colours apart so that every pattern is visible.
    if (Math.abs(a[0] + a[1] + a[2] - b[0] - b[1] - b[2]) < 0.4) b = [1 - a[0], 1 - a[1], 1 - a[2]];
    DRAW[SOURCE_CLASSES[labels[i] as number] as (typeof SOURCE_CLASSES)[number]](img, rng, a, b);
    img.grain(rng, rng.range(0, 0.06));
    const off = i * size * size * 3;
    for (let k = 0; k < img.rgb.length; k++) {
      images[off + k] = Math.round(clamp(img.rgb[k] as number, 0, 1) * 255);
    }
  }
  return { images, labels, classNames: [...SOURCE_CLASSES], size };
}
