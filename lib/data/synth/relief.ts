/**
 * A height field with coverage, on which sculptures are modelled before they are lit: parts are
 * added as domes, capsules and boxes (the union keeps the highest surface), surface work (folds,
 * tool marks, lumps) is added to the heights, and shading later turns heights into normals.
 * Modelling in height rather than painting in colour is what makes lighting, material and
 * surface texture independent cues, as they are in photographs of real sculpture.
 */
export enum Tone {
  Body = 0,
  Garment = 1,
  Base = 2,
  Accent = 3,
}

export class Relief {
  readonly h: Float32Array;
  readonly cover: Float32Array;
  readonly tone: Uint8Array;
  /** Multiplies the depth of new parts: below 1 for low relief panels. */
  depthScale = 1;

  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    const n = width * height;
    this.h = new Float32Array(n);
    this.cover = new Float32Array(n);
    this.tone = new Uint8Array(n);
  }

  private put(x: number, y: number, z: number, cover: number, tone: Tone): void {
    const p = y * this.width + x;
    if (z > (this.h[p] as number) || (this.cover[p] as number) === 0) {
      this.h[p] = z;
      this.tone[p] = tone;
    }
    if (cover > (this.cover[p] as number)) this.cover[p] = cover;
  }

  /** A rotated half-ellipsoid of radii (rx, ry), raised by `z`. */
  dome(cx: number, cy: number, rx: number, ry: number, angle: number, z: number, tone: Tone): void {
    if (rx <= 0.3 || ry <= 0.3) return;
    const r = Math.max(rx, ry) + 1;
    const ca = Math.cos(angle);
    const sa = Math.sin(angle);
    const depth = Math.min(rx, ry) * this.depthScale;
    const x0 = Math.max(0, Math.floor(cx - r));
    const x1 = Math.min(this.width - 1, Math.ceil(cx + r));
    const y0 = Math.max(0, Math.floor(cy - r));
    const y1 = Math.min(this.height - 1, Math.ceil(cy + r));
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) {
        const px = x + 0.5 - cx;
        const py = y + 0.5 - cy;
        const u = (px * ca + py * sa) / rx;
        const v = (-px * sa + py * ca) / ry;
        const d2 = u * u + v * v;
        if (d2 >= 1) continue;
        const edge = (1 - Math.sqrt(d2)) * depth;
        this.put(x, y, z + Math.sqrt(1 - d2) * depth, Math.min(1, edge * 1.5 + 0.2), tone);
      }
    }
  }

  /** A limb: a segment whose radius goes from r1 to r2, round in section. */
  capsule(
    x1: number,
    y1: number,
    r1: number,
    x2: number,
    y2: number,
    r2: number,
    z: number,
    tone: Tone,
  ): void {
    const rm = Math.max(r1, r2) + 1;
    const xa = Math.max(0, Math.floor(Math.min(x1, x2) - rm));
    const xb = Math.min(this.width - 1, Math.ceil(Math.max(x1, x2) + rm));
    const ya = Math.max(0, Math.floor(Math.min(y1, y2) - rm));
    const yb = Math.min(this.height - 1, Math.ceil(Math.max(y1, y2) + rm));
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
        const d2 = ex * ex + ey * ey;
        const r = r1 + (r2 - r1) * t;
        if (d2 >= r * r) continue;
        const d = Math.sqrt(d2);
        this.put(
          x,
          y,
          z + Math.sqrt(r * r - d2) * this.depthScale,
          Math.min(1, (r - d) * 1.5 + 0.2),
          tone,
        );
      }
    }
  }

  /** A block with bevelled edges, as a plinth, a panel or a minimalist volume. */
  box(x0: number, y0: number, x1: number, y1: number, depth: number, bevel: number, tone: Tone) {
    const xa = Math.max(0, Math.floor(x0));
    const xb = Math.min(this.width - 1, Math.ceil(x1) - 1);
    const ya = Math.max(0, Math.floor(y0));
    const yb = Math.min(this.height - 1, Math.ceil(y1) - 1);
    const b = Math.max(0.5, bevel);
    for (let y = ya; y <= yb; y++) {
      for (let x = xa; x <= xb; x++) {
        const e = Math.min(x + 0.5 - x0, x1 - x - 0.5, y + 0.5 - y0, y1 - y - 0.5);
        if (e <= 0) continue;
        this.put(x, y, depth * Math.min(1, e / b), 1, tone);
      }
    }
  }

  /** Removes material inside a circle (holes of modern sculpture). */
  hole(cx: number, cy: number, r: number): void {
    const x0 = Math.max(0, Math.floor(cx - r));
    const x1 = Math.min(this.width - 1, Math.ceil(cx + r));
    const y0 = Math.max(0, Math.floor(cy - r));
    const y1 = Math.min(this.height - 1, Math.ceil(cy + r));
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) {
        const d = Math.hypot(x + 0.5 - cx, y + 0.5 - cy);
        if (d < r) {
          const p = y * this.width + x;
          this.cover[p] = Math.min(this.cover[p] as number, Math.max(0, d - r + 1));
        }
      }
    }
  }

  /** Adds `amount * field` to the heights of covered pixels whose tone is in `tones`. */
  addToSurface(field: Float32Array, amount: number, tones: readonly Tone[]): void {
    const mask = [false, false, false, false];
    for (const t of tones) mask[t] = true;
    for (let p = 0; p < this.h.length; p++) {
      if ((this.cover[p] as number) > 0 && mask[this.tone[p] as number]) {
        this.h[p] = (this.h[p] as number) + amount * (field[p] as number);
      }
    }
  }

  /** Cuts everything below the line y (a bust's truncated chest). */
  clipBelow(yCut: number): void {
    for (let y = Math.max(0, Math.ceil(yCut)); y < this.height; y++) {
      this.cover.fill(0, y * this.width, (y + 1) * this.width);
    }
  }
}

/**
 * Tool marks or brush marks as a field: `count` short lines of length `len` whose directions
 * scatter by `spread` radians around `angle`. Their statistics (density, length, orientation)
 * are one of the cues that tell styles apart.
 */
export function strokeField(
  rng: { uniform(): number; normal(): number },
  width: number,
  height: number,
  count: number,
  len: number,
  angle: number,
  spread: number,
): Float32Array {
  const f = new Float32Array(width * height);
  for (let k = 0; k < count; k++) {
    const x0 = rng.uniform() * width;
    const y0 = rng.uniform() * height;
    const a = angle + rng.normal() * spread;
    const l = len * (0.5 + rng.uniform());
    const dx = Math.cos(a);
    const dy = Math.sin(a);
    const depth = 0.5 + rng.uniform() * 0.5;
    for (let t = 0; t < l; t += 0.7) {
      const x = Math.floor(x0 + dx * t);
      const y = Math.floor(y0 + dy * t);
      if (x < 0 || y < 0 || x >= width || y >= height) break;
      f[y * width + x] = -depth;
    }
  }
  return f;
}
