import { Rng } from '../../util/rng';

/** An RGB colour with components in [0, 1]. */
export type Rgb = readonly [number, number, number];

/**
 * A floating-point RGB image (interleaved, components in [0, 1]) with the few drawing primitives
 * the procedural generators need. Everything is plain loops over typed arrays: the generators
 * draw thousands of images and must stay fast without a canvas library.
 */
export class Raster {
  readonly rgb: Float32Array;

  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.rgb = new Float32Array(width * height * 3);
  }

  fill(c: Rgb): void {
    for (let i = 0; i < this.rgb.length; i += 3) {
      this.rgb[i] = c[0];
      this.rgb[i + 1] = c[1];
      this.rgb[i + 2] = c[2];
    }
  }

  /** Linear gradient from `a` to `b` along the direction `angle` (radians). */
  gradient(a: Rgb, b: Rgb, angle: number): void {
    const { width: w, height: h } = this;
    const dx = Math.cos(angle);
    const dy = Math.sin(angle);
    const span = Math.abs(dx) * w + Math.abs(dy) * h;
    const off = Math.min(0, dx * w) + Math.min(0, dy * h);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const t = (dx * x + dy * y - off) / span;
        const i = (y * w + x) * 3;
        this.rgb[i] = a[0] + (b[0] - a[0]) * t;
        this.rgb[i + 1] = a[1] + (b[1] - a[1]) * t;
        this.rgb[i + 2] = a[2] + (b[2] - a[2]) * t;
      }
    }
  }

  /** Blends colour `c` with opacity `alpha` into pixel (x, y); out-of-range pixels are ignored. */
  blend(x: number, y: number, c: Rgb, alpha: number): void {
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    const i = (y * this.width + x) * 3;
    const p = this.rgb;
    p[i] = (p[i] as number) + (c[0] - (p[i] as number)) * alpha;
    p[i + 1] = (p[i + 1] as number) + (c[1] - (p[i + 1] as number)) * alpha;
    p[i + 2] = (p[i + 2] as number) + (c[2] - (p[i + 2] as number)) * alpha;
  }

  /** Filled, rotated ellipse with a one-pixel soft edge. */
  ellipse(cx: number, cy: number, rx: number, ry: number, angle: number, c: Rgb, alpha = 1): void {
    const r = Math.max(rx, ry) + 1;
    const ca = Math.cos(angle);
    const sa = Math.sin(angle);
    const x0 = Math.max(0, Math.floor(cx - r));
    const x1 = Math.min(this.width - 1, Math.ceil(cx + r));
    const y0 = Math.max(0, Math.floor(cy - r));
    const y1 = Math.min(this.height - 1, Math.ceil(cy + r));
    const edge = 1 / Math.max(1, Math.min(rx, ry));
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) {
        const px = x + 0.5 - cx;
        const py = y + 0.5 - cy;
        const u = (px * ca + py * sa) / rx;
        const v = (-px * sa + py * ca) / ry;
        const d = Math.sqrt(u * u + v * v);
        if (d >= 1 + edge) continue;
        const cover = d <= 1 - edge ? 1 : (1 + edge - d) / (2 * edge);
        this.blend(x, y, c, alpha * cover);
      }
    }
  }

  /** A brush stroke: a segment of width `w` with round ends. */
  stroke(x1: number, y1: number, x2: number, y2: number, w: number, c: Rgb, alpha = 1): void {
    const r = w / 2;
    const xa = Math.max(0, Math.floor(Math.min(x1, x2) - r - 1));
    const xb = Math.min(this.width - 1, Math.ceil(Math.max(x1, x2) + r + 1));
    const ya = Math.max(0, Math.floor(Math.min(y1, y2) - r - 1));
    const yb = Math.min(this.height - 1, Math.ceil(Math.max(y1, y2) + r + 1));
    const dx = x2 - x1;
    const dy = y2 - y1;
    const len2 = dx * dx + dy * dy || 1e-9;
    for (let y = ya; y <= yb; y++) {
      for (let x = xa; x <= xb; x++) {
        const px = x + 0.5 - x1;
        const py = y + 0.5 - y1;
        const t = Math.max(0, Math.min(1, (px * dx + py * dy) / len2));
        const ex = px - t * dx;
        const ey = py - t * dy;
        const d = Math.sqrt(ex * ex + ey * ey);
        if (d >= r + 0.5) continue;
        const cover = d <= r - 0.5 ? 1 : r + 0.5 - d;
        this.blend(x, y, c, alpha * cover);
      }
    }
  }

  /** Filled polygon (even-odd rule, pixel centres). */
  polygon(points: readonly (readonly [number, number])[], c: Rgb, alpha = 1): void {
    let ya = Infinity;
    let yb = -Infinity;
    for (const p of points) {
      ya = Math.min(ya, p[1]);
      yb = Math.max(yb, p[1]);
    }
    const y0 = Math.max(0, Math.floor(ya));
    const y1 = Math.min(this.height - 1, Math.ceil(yb));
    const xs: number[] = [];
    for (let y = y0; y <= y1; y++) {
      const sy = y + 0.5;
      xs.length = 0;
      for (let i = 0; i < points.length; i++) {
        const a = points[i] as readonly [number, number];
        const b = points[(i + 1) % points.length] as readonly [number, number];
        if (a[1] <= sy === b[1] <= sy) continue;
        xs.push(a[0] + ((sy - a[1]) / (b[1] - a[1])) * (b[0] - a[0]));
      }
      xs.sort((p, q) => p - q);
      for (let k = 0; k + 1 < xs.length; k += 2) {
        const xa = Math.max(0, Math.ceil((xs[k] as number) - 0.5));
        const xb = Math.min(this.width - 1, Math.floor((xs[k + 1] as number) - 0.5));
        for (let x = xa; x <= xb; x++) this.blend(x, y, c, alpha);
      }
    }
  }

  /** Adds `amount * field` to every channel (field in about [-1, 1], one value per pixel). */
  addField(field: Float32Array, amount: number, tint: Rgb = [1, 1, 1]): void {
    for (let p = 0, i = 0; p < field.length; p++, i += 3) {
      const v = (field[p] as number) * amount;
      this.rgb[i] = (this.rgb[i] as number) + v * tint[0];
      this.rgb[i + 1] = (this.rgb[i + 1] as number) + v * tint[1];
      this.rgb[i + 2] = (this.rgb[i + 2] as number) + v * tint[2];
    }
  }

  /** Independent per-pixel noise, as sensor grain or canvas weave. */
  grain(rng: Rng, amount: number): void {
    for (let p = 0, i = 0; p < this.width * this.height; p++, i += 3) {
      const v = (rng.uniform() - 0.5) * 2 * amount;
      this.rgb[i] = (this.rgb[i] as number) + v;
      this.rgb[i + 1] = (this.rgb[i + 1] as number) + v;
      this.rgb[i + 2] = (this.rgb[i + 2] as number) + v;
    }
  }

  /** Multiplies brightness by a radial falloff, as lens vignetting or a spot light. */
  vignette(strength: number, cx = 0.5, cy = 0.5): void {
    const { width: w, height: h } = this;
    const norm = 1 / (0.5 * Math.hypot(w, h));
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const d = Math.hypot(x - cx * w, y - cy * h) * norm;
        const f = 1 - strength * d * d;
        const i = (y * w + x) * 3;
        this.rgb[i] = (this.rgb[i] as number) * f;
        this.rgb[i + 1] = (this.rgb[i + 1] as number) * f;
        this.rgb[i + 2] = (this.rgb[i + 2] as number) * f;
      }
    }
  }

  /** Clamped 8-bit interleaved RGB, ready for an encoder. */
  toBytes(): Buffer {
    const out = Buffer.alloc(this.rgb.length);
    for (let i = 0; i < this.rgb.length; i++) {
      const v = (this.rgb[i] as number) * 255 + 0.5;
      out[i] = v <= 0 ? 0 : v >= 255 ? 255 : v;
    }
    return out;
  }
}

/**
 * Smooth value noise in about [-1, 1]: random values on a grid of `cell`-pixel spacing,
 * interpolated with a smoothstep. Several octaves give marble veins, stone grain or clouds.
 */
export function valueNoise(
  rng: Rng,
  width: number,
  height: number,
  cell: number,
  octaves = 1,
): Float32Array {
  const out = new Float32Array(width * height);
  let amp = 1;
  let total = 0;
  for (let o = 0; o < octaves; o++) {
    const c = Math.max(1, cell / 2 ** o);
    const gw = Math.ceil(width / c) + 2;
    const gh = Math.ceil(height / c) + 2;
    const grid = new Float32Array(gw * gh);
    for (let i = 0; i < grid.length; i++) grid[i] = rng.uniform() * 2 - 1;
    for (let y = 0; y < height; y++) {
      const gy = y / c;
      const iy = Math.floor(gy);
      let ty = gy - iy;
      ty = ty * ty * (3 - 2 * ty);
      for (let x = 0; x < width; x++) {
        const gx = x / c;
        const ix = Math.floor(gx);
        let tx = gx - ix;
        tx = tx * tx * (3 - 2 * tx);
        const a = grid[iy * gw + ix] as number;
        const b = grid[iy * gw + ix + 1] as number;
        const d = grid[(iy + 1) * gw + ix] as number;
        const e = grid[(iy + 1) * gw + ix + 1] as number;
        const top = a + (b - a) * tx;
        const bot = d + (e - d) * tx;
        const p = y * width + x;
        out[p] = (out[p] as number) + amp * (top + (bot - top) * ty);
      }
    }
    total += amp;
    amp *= 0.5;
  }
  for (let i = 0; i < out.length; i++) out[i] = (out[i] as number) / total;
  return out;
}

export function mix(a: Rgb, b: Rgb, t: number): Rgb {
  return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
}

/** Colour from hue (0..1), saturation and value, all in [0, 1]. */
export function hsv(h: number, s: number, v: number): Rgb {
  const hh = (((h % 1) + 1) % 1) * 6;
  const i = Math.floor(hh);
  const f = hh - i;
  const p = v * (1 - s);
  const q = v * (1 - s * f);
  const t = v * (1 - s * (1 - f));
  switch (i) {
    case 0:
      return [v, t, p];
    case 1:
      return [q, v, p];
    case 2:
      return [p, v, t];
    case 3:
      return [p, q, v];
    case 4:
      return [t, p, v];
    default:
      return [v, p, q];
  }
}

/** A colour jittered by `amount` per channel, so no two images share exact colours. */
export function jitter(rng: Rng, c: Rgb, amount: number): Rgb {
  return [
    c[0] + (rng.uniform() - 0.5) * 2 * amount,
    c[1] + (rng.uniform() - 0.5) * 2 * amount,
    c[2] + (rng.uniform() - 0.5) * 2 * amount,
  ];
}

/** Picks a key from `weights` with probability proportional to its weight. */
export function pickWeighted<K extends string>(rng: Rng, weights: Partial<Record<K, number>>): K {
  const entries = Object.entries(weights) as [K, number][];
  const total = entries.reduce((s, [, w]) => s + w, 0);
  let r = rng.uniform() * total;
  for (const [k, w] of entries) {
    r -= w;
    if (r < 0) return k;
  }
  return (entries[entries.length - 1] as [K, number])[0];
}

export function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}
