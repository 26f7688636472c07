import { Rng } from '../../util/rng';
import { clamp, hsv, jitter, mix, Raster, Rgb, valueNoise } from './raster';

/** The look families that the genres of artists.csv map onto. */
export type Manner =
  | 'impressionist'
  | 'swirling'
  | 'pointillist'
  | 'expressionist'
  | 'abstract'
  | 'cubist'
  | 'surreal'
  | 'realist'
  | 'icon'
  | 'ornamental'
  | 'northern'
  | 'chiaroscuro'
  | 'renaissance'
  | 'mannerist'
  | 'romantic'
  | 'naive'
  | 'pop'
  | 'drip'
  | 'grid'
  | 'suprematist'
  | 'mural';

const GENRE_MANNER: Record<string, Manner> = {
  Expressionism: 'expressionist',
  Abstractionism: 'abstract',
  'Social Realism': 'mural',
  Muralism: 'mural',
  Impressionism: 'impressionist',
  Surrealism: 'surreal',
  Realism: 'realist',
  'Byzantine Art': 'icon',
  'Post-Impressionism': 'swirling',
  Symbolism: 'ornamental',
  'Art Nouveau': 'ornamental',
  'Northern Renaissance': 'northern',
  Suprematism: 'suprematist',
  Cubism: 'cubist',
  Baroque: 'chiaroscuro',
  Romanticism: 'romantic',
  Primitivism: 'naive',
  'Naïve Art': 'naive',
  Mannerism: 'mannerist',
  'Proto Renaissance': 'icon',
  'Early Renaissance': 'renaissance',
  'High Renaissance': 'renaissance',
  Neoplasticism: 'grid',
  'Pop Art': 'pop',
  'Abstract Expressionism': 'drip',
  Pointillism: 'pointillist',
};

/** The manner a genre is painted in; unknown genres fall back to a realist look. */
export function mannerOf(genre: string): Manner {
  return GENRE_MANNER[genre] ?? 'realist';
}

/**
 * What makes one artist's paintings recognisable beyond their genre: a personal palette, a
 * preferred brush direction and size, a usual composition, and where the signature goes.
 */
export interface ArtistQuirks {
  palette: Rgb[];
  paletteWeight: number;
  strokeAngle: number;
  strokeScale: number;
  horizon: number;
  brightness: number;
  signature: 'left' | 'right' | 'none';
  portraitBias: number;
  /** A few artists' own manner overrides the genre's for part of their work. */
  own: Manner | null;
}

const OWN_MANNER: Record<string, Manner> = {
  'Georges Seurat': 'pointillist',
  'Camille Pissarro': 'pointillist',
  'Amedeo Modigliani': 'expressionist',
};

export function artistQuirks(name: string, rng: Rng): ArtistQuirks {
  const hue = rng.uniform();
  const palette: Rgb[] = [];
  for (let k = 0; k < 4; k++) {
    palette.push(hsv(hue + rng.normal() * 0.12, rng.range(0.25, 0.9), rng.range(0.25, 0.95)));
  }
  return {
    palette,
    paletteWeight: rng.range(0.25, 0.5),
    strokeAngle: rng.range(0, Math.PI),
    strokeScale: rng.range(0.7, 1.5),
    horizon: rng.range(0.35, 0.7),
    brightness: rng.range(0.85, 1.15),
    signature: (['left', 'right', 'none'] as const)[rng.int(3)] as 'left' | 'right' | 'none',
    portraitBias: rng.uniform(),
    own: OWN_MANNER[name] ?? null,
  };
}

/** Paints one picture in `manner` with the artist's quirks. */
export function renderPainting(
  manner: Manner,
  q: ArtistQuirks,
  rng: Rng,
  width: number,
  height: number,
): Raster {
  const img = new Raster(width, height);
  const p = (c: Rgb): Rgb => mix(c, q.palette[rng.int(q.palette.length)] as Rgb, q.paletteWeight);
  PAINTERS[manner](img, rng, q, p);
  finish(img, q, rng);
  return img;
}

type Painter = (img: Raster, rng: Rng, q: ArtistQuirks, p: (c: Rgb) => Rgb) => void;

/** Sky above, land or sea below, split at the artist's usual horizon. */
function landscape(img: Raster, rng: Rng, q: ArtistQuirks, sky: Rgb, land: Rgb): number {
  const hy = Math.floor(img.height * clamp(q.horizon + rng.normal() * 0.08, 0.2, 0.85));
  for (let y = 0; y < img.height; y++) {
    const t = y < hy ? y / hy : (y - hy) / (img.height - hy);
    const c = y < hy ? mix(sky, [0.95, 0.93, 0.88], t * 0.6) : mix(land, [0.1, 0.1, 0.08], t * 0.4);
    for (let x = 0; x < img.width; x++) img.blend(x, y, c, 1);
  }
  return hy;
}

/** Samples the colour already painted at (x, y). */
function at(img: Raster, x: number, y: number): Rgb {
  const xi = clamp(Math.floor(x), 0, img.width - 1);
  const yi = clamp(Math.floor(y), 0, img.height - 1);
  const i = (yi * img.width + xi) * 3;
  return [img.rgb[i] as number, img.rgb[i + 1] as number, img.rgb[i + 2] as number];
}

/** Short strokes over the picture, each in the colour beneath it, varied: broken colour. */
function dabs(
  img: Raster,
  rng: Rng,
  count: number,
  len: number,
  w: number,
  angle: number,
  spread: number,
  vary: number,
  flow: Float32Array | null = null,
): void {
  for (let k = 0; k < count; k++) {
    const x = rng.uniform() * img.width;
    const y = rng.uniform() * img.height;
    const a = flow
      ? (flow[Math.floor(y) * img.width + Math.floor(x)] as number) * Math.PI * 2
      : angle + rng.normal() * spread;
    const l = len * rng.range(0.6, 1.4);
    const c = jitter(rng, at(img, x, y), vary);
    img.stroke(x, y, x + Math.cos(a) * l, y + Math.sin(a) * l, w, c, 0.85);
  }
}

/** A simple standing or half-length figure, flat or modelled. */
function figure(
  img: Raster,
  rng: Rng,
  cx: number,
  top: number,
  h: number,
  skin: Rgb,
  robe: Rgb,
  elongate = 1,
): void {
  const head = (h / 7) * (1 / elongate);
  img.polygon(
    [
      [cx - head * 0.9, top + head * 1.4],
      [cx + head * 0.9, top + head * 1.4],
      [cx + head * (1.5 + rng.uniform()), top + h],
      [cx - head * (1.5 + rng.uniform()), top + h],
    ],
    robe,
  );
  img.stroke(cx, top + head, cx, top + head * 1.6, head * 0.5, skin);
  img.ellipse(cx, top + head * 0.5, head * 0.42, head * 0.55 * elongate, 0, skin);
}

const PAINTERS: Record<Manner, Painter> = {
  impressionist(img, rng, q, p) {
    landscape(img, rng, q, p([0.55, 0.7, 0.9]), p([0.45, 0.65, 0.35]));
    if (rng.uniform() < 0.5) {
      figure(
        img,
        rng,
        img.width * rng.range(0.3, 0.7),
        img.height * 0.35,
        img.height * 0.5,
        [0.9, 0.75, 0.65],
        p([0.9, 0.85, 0.9]),
      );
    }
    const n = Math.round((img.width * img.height) / (10 * q.strokeScale));
    dabs(img, rng, n, 4 * q.strokeScale, 2, q.strokeAngle, 0.6, 0.18);
  },
  swirling(img, rng, q, p) {
    landscape(img, rng, q, p([0.2, 0.35, 0.75]), p([0.75, 0.65, 0.2]));
    if (rng.uniform() < 0.6) {
      img.ellipse(
        img.width * rng.range(0.2, 0.8),
        img.height * rng.range(0.1, 0.3),
        img.width * 0.08,
        img.width * 0.08,
        0,
        [0.95, 0.85, 0.3],
      );
    }
    if (rng.uniform() < 0.4) {
      const x = img.width * rng.range(0.2, 0.8);
      img.polygon(
        [
          [x - 4, img.height],
          [x + 4, img.height],
          [x, img.height * 0.25],
        ],
        [0.1, 0.25, 0.12],
      );
    }
    const flow = valueNoise(rng, img.width, img.height, img.width / 4, 2);
    const n = Math.round((img.width * img.height) / (14 * q.strokeScale));
    dabs(img, rng, n, 7 * q.strokeScale, 2.5, 0, 0, 0.15, flow);
    outlines(img, rng, 0.25);
  },
  pointillist(img, rng, q, p) {
    landscape(img, rng, q, p([0.6, 0.75, 0.9]), p([0.4, 0.6, 0.3]));
    figure(
      img,
      rng,
      img.width * rng.range(0.2, 0.8),
      img.height * 0.3,
      img.height * 0.55,
      p([0.3, 0.25, 0.3]),
      p([0.25, 0.2, 0.35]),
    );
    const n = Math.round((img.width * img.height) / 5);
    for (let k = 0; k < n; k++) {
      const x = rng.uniform() * img.width;
      const y = rng.uniform() * img.height;
      const c = jitter(rng, at(img, x, y), 0.3);
      img.ellipse(x, y, 1.1, 1.1, 0, c, 0.9);
    }
  },
  expressionist(img, rng, q, p) {
    const bg = p(hsv(rng.uniform(), 0.6, 0.6));
    img.gradient(bg, p(hsv(rng.uniform(), 0.7, 0.4)), rng.range(0, Math.PI));
    const cx = img.width * rng.range(0.35, 0.65);
    const elong = q.own === 'expressionist' ? 1.6 : rng.range(1, 1.3);
    figure(
      img,
      rng,
      cx,
      img.height * 0.12,
      img.height * 0.95,
      p([0.85, 0.6, 0.45]),
      p(hsv(rng.uniform(), 0.7, 0.35)),
      elong,
    );
    dabs(
      img,
      rng,
      Math.round((img.width * img.height) / 30),
      8 * q.strokeScale,
      2.5,
      q.strokeAngle,
      1.2,
      0.2,
    );
    outlines(img, rng, 0.5);
  },
  abstract(img, rng, _q, p) {
    img.fill(p([0.9, 0.87, 0.78]));
    const n = 8 + rng.int(14);
    for (let k = 0; k < n; k++) {
      const c = p(hsv(rng.uniform(), rng.range(0.5, 1), rng.range(0.3, 0.95)));
      const x = rng.uniform() * img.width;
      const y = rng.uniform() * img.height;
      const s = rng.range(0.03, 0.2) * img.width;
      const kind = rng.int(3);
      if (kind === 0) img.ellipse(x, y, s, s, 0, c, 0.85);
      else if (kind === 1)
        img.stroke(
          x,
          y,
          x + rng.normal() * s * 3,
          y + rng.normal() * s * 3,
          rng.range(1, 3),
          [0.05, 0.05, 0.05],
        );
      else
        img.polygon(
          [
            [x, y],
            [x + s * 2, y + rng.normal() * s],
            [x + rng.normal() * s, y + s * 2],
          ],
          c,
          0.85,
        );
    }
  },
  cubist(img, rng, _q, p) {
    img.fill(p([0.55, 0.48, 0.38]));
    const n = 30 + rng.int(40);
    for (let k = 0; k < n; k++) {
      const x = rng.uniform() * img.width;
      const y = rng.uniform() * img.height;
      const s = rng.range(0.08, 0.3) * img.width;
      const pts: [number, number][] = [];
      const m = 3 + rng.int(3);
      for (let j = 0; j < m; j++) {
        const a = (j / m) * Math.PI * 2 + rng.normal() * 0.3;
        pts.push([
          x + Math.cos(a) * s * rng.range(0.5, 1),
          y + Math.sin(a) * s * rng.range(0.5, 1),
        ]);
      }
      const shade = rng.range(0.5, 1.2);
      const base = p([0.6, 0.52, 0.4]);
      img.polygon(pts, [base[0] * shade, base[1] * shade, base[2] * shade], 0.8);
      for (let j = 0; j < m; j++) {
        const a = pts[j] as [number, number];
        const b = pts[(j + 1) % m] as [number, number];
        if (rng.uniform() < 0.5) img.stroke(a[0], a[1], b[0], b[1], 1, [0.12, 0.1, 0.08], 0.8);
      }
    }
  },
  surreal(img, rng, q, p) {
    const hy = landscape(img, rng, q, p([0.45, 0.6, 0.85]), p([0.75, 0.62, 0.45]));
    const n = 2 + rng.int(4);
    for (let k = 0; k < n; k++) {
      const x = rng.uniform() * img.width;
      const y = hy + rng.range(-0.3, 0.3) * img.height;
      const s = rng.range(0.05, 0.18) * img.width;
      img.ellipse(x + s * 1.5, y + s * 0.9, s * 1.8, s * 0.25, 0, [0.15, 0.12, 0.1], 0.5);
      if (rng.uniform() < 0.5)
        img.ellipse(
          x,
          y,
          s,
          s * rng.range(0.6, 1.6),
          rng.uniform(),
          p(hsv(rng.uniform(), 0.4, 0.8)),
        );
      else
        img.polygon(
          [
            [x - s, y + s],
            [x + s, y + s],
            [x + s * 0.6, y - s * 1.5],
            [x - s * 0.6, y - s * 1.5],
          ],
          p([0.15, 0.15, 0.2]),
        );
    }
    if (rng.uniform() < 0.5) {
      for (let k = 0; k < 5; k++) {
        img.ellipse(
          rng.uniform() * img.width,
          rng.uniform() * hy * 0.8,
          img.width * 0.08,
          img.width * 0.04,
          0,
          [0.97, 0.97, 0.97],
          0.8,
        );
      }
    }
  },
  realist(img, rng, q, p) {
    const hy = landscape(img, rng, q, p([0.6, 0.62, 0.6]), p([0.35, 0.32, 0.22]));
    const n = 1 + rng.int(3);
    for (let k = 0; k < n; k++) {
      figure(
        img,
        rng,
        img.width * rng.range(0.15, 0.85),
        hy - img.height * 0.25,
        img.height * rng.range(0.3, 0.5),
        [0.75, 0.58, 0.45],
        p([0.25, 0.22, 0.18]),
      );
    }
    dabs(
      img,
      rng,
      Math.round((img.width * img.height) / 40),
      5 * q.strokeScale,
      3,
      q.strokeAngle,
      0.8,
      0.05,
    );
  },
  icon(img, rng, _q, p) {
    img.fill(p([0.78, 0.6, 0.22]));
    img.addField(valueNoise(rng, img.width, img.height, 6, 2), 0.06);
    const cx = img.width / 2 + rng.normal() * img.width * 0.05;
    const top = img.height * 0.12;
    img.ellipse(
      cx,
      top + img.height * 0.08,
      img.width * 0.16,
      img.width * 0.16,
      0,
      [0.92, 0.76, 0.3],
    );
    figure(img, rng, cx, top, img.height * 0.85, [0.7, 0.5, 0.35], p([0.3, 0.15, 0.2]), 1.2);
    outlines(img, rng, 0.6);
    img.stroke(2, 2, img.width - 2, 2, 3, [0.4, 0.1, 0.08]);
    img.stroke(2, img.height - 2, img.width - 2, img.height - 2, 3, [0.4, 0.1, 0.08]);
  },
  ornamental(img, rng, _q, p) {
    img.fill(p([0.6, 0.5, 0.25]));
    const s = 3 + rng.int(3);
    for (let y = 0; y < img.height; y += s) {
      for (let x = 0; x < img.width; x += s) {
        if (rng.uniform() < 0.55) {
          const c =
            rng.uniform() < 0.6 ? ([0.85, 0.7, 0.3] as Rgb) : p(hsv(rng.uniform(), 0.5, 0.7));
          img.ellipse(x + s / 2, y + s / 2, s * 0.4, s * 0.4, 0, c, 0.8);
        }
      }
    }
    figure(
      img,
      rng,
      img.width * rng.range(0.35, 0.65),
      img.height * 0.1,
      img.height * 0.9,
      [0.92, 0.8, 0.7],
      p([0.8, 0.65, 0.3]),
      1.3,
    );
    const spirals = 3 + rng.int(5);
    for (let k = 0; k < spirals; k++) {
      const x = rng.uniform() * img.width;
      const y = rng.uniform() * img.height;
      for (let t = 0; t < 12; t += 0.4) {
        const r = t * 0.8;
        img.ellipse(x + Math.cos(t) * r, y + Math.sin(t) * r, 0.8, 0.8, 0, [0.2, 0.15, 0.08]);
      }
    }
  },
  northern(img, rng, q, p) {
    if (rng.uniform() < q.portraitBias) {
      img.fill(p([0.1, 0.12, 0.1]));
      figure(
        img,
        rng,
        img.width / 2,
        img.height * 0.15,
        img.height * 1.1,
        [0.85, 0.7, 0.58],
        p([0.2, 0.15, 0.12]),
      );
    } else {
      const hy = landscape(img, rng, q, p([0.65, 0.75, 0.8]), p([0.3, 0.38, 0.22]));
      const n = 15 + rng.int(30);
      for (let k = 0; k < n; k++) {
        const y = hy + rng.uniform() * (img.height - hy);
        const s = 2 + ((y - hy) / img.height) * 10;
        figure(
          img,
          rng,
          rng.uniform() * img.width,
          y - s * 2,
          s * 3,
          [0.85, 0.7, 0.6],
          p(hsv(rng.uniform(), 0.6, 0.6)),
        );
      }
    }
    img.grain(rng, 0.02);
  },
  chiaroscuro(img, rng, q, p) {
    img.fill(p([0.08, 0.06, 0.04]));
    const n = 1 + rng.int(3);
    for (let k = 0; k < n; k++) {
      figure(
        img,
        rng,
        img.width * rng.range(0.25, 0.75),
        img.height * rng.range(0.1, 0.3),
        img.height * 0.8,
        [0.85, 0.65, 0.45],
        p(hsv(rng.range(0, 0.1), 0.7, 0.5)),
      );
    }
    img.vignette(-0.2 - rng.uniform() * 0.3, rng.range(0.3, 0.7), rng.range(0.2, 0.5));
    img.vignette(1.4, rng.range(0.3, 0.7), rng.range(0.3, 0.5));
    dabs(
      img,
      rng,
      Math.round((img.width * img.height) / 60),
      4 * q.strokeScale,
      2,
      q.strokeAngle,
      1,
      0.03,
    );
  },
  renaissance(img, rng, q, p) {
    const hy = landscape(img, rng, q, p([0.5, 0.65, 0.85]), p([0.5, 0.45, 0.35]));
    const vx = img.width * (0.5 + rng.normal() * 0.05);
    for (let k = -6; k <= 6; k++) {
      img.stroke(vx, hy, vx + k * img.width * 0.25, img.height, 1, [0.3, 0.25, 0.2], 0.6);
    }
    const colW = img.width * 0.08;
    img.polygon(
      [
        [0, 0],
        [colW, 0],
        [colW, img.height],
        [0, img.height],
      ],
      p([0.75, 0.7, 0.6]),
    );
    img.polygon(
      [
        [img.width - colW, 0],
        [img.width, 0],
        [img.width, img.height],
        [img.width - colW, img.height],
      ],
      p([0.75, 0.7, 0.6]),
    );
    const n = 1 + rng.int(3);
    for (let k = 0; k < n; k++) {
      figure(
        img,
        rng,
        vx + (k - (n - 1) / 2) * img.width * 0.22,
        hy - img.height * 0.3,
        img.height * 0.6,
        [0.88, 0.72, 0.6],
        p(hsv([0.0, 0.6, 0.1][rng.int(3)] as number, 0.6, 0.55)),
      );
    }
  },
  mannerist(img, rng, _q, p) {
    img.gradient(p([0.2, 0.25, 0.3]), p([0.05, 0.05, 0.08]), Math.PI / 2);
    img.addField(valueNoise(rng, img.width, img.height, img.width / 3, 3), 0.15);
    const n = 1 + rng.int(3);
    for (let k = 0; k < n; k++) {
      figure(
        img,
        rng,
        img.width * rng.range(0.25, 0.75),
        img.height * 0.05,
        img.height * 0.95,
        [0.8, 0.75, 0.65],
        p(hsv(rng.uniform(), 0.8, 0.7)),
        1.7,
      );
    }
  },
  romantic(img, rng, q, p) {
    landscape(img, rng, q, p([0.75, 0.65, 0.45]), p([0.25, 0.28, 0.3]));
    img.addField(valueNoise(rng, img.width, img.height, img.width / 2, 4), 0.3, [1, 0.9, 0.7]);
    const flow = valueNoise(rng, img.width, img.height, img.width / 2, 1);
    dabs(
      img,
      rng,
      Math.round((img.width * img.height) / 25),
      9 * q.strokeScale,
      3,
      0,
      0,
      0.06,
      flow,
    );
    img.vignette(-0.4, rng.range(0.3, 0.7), rng.range(0.2, 0.5));
  },
  naive(img, rng, q, p) {
    const hy = landscape(img, rng, q, p([0.5, 0.7, 0.85]), p([0.2, 0.5, 0.2]));
    const leaves = 10 + rng.int(30);
    for (let k = 0; k < leaves; k++) {
      img.ellipse(
        rng.uniform() * img.width,
        hy + rng.range(-0.3, 1) * (img.height - hy),
        img.width * 0.05,
        img.width * 0.015,
        rng.uniform() * Math.PI,
        p(hsv(rng.range(0.22, 0.4), 0.8, rng.range(0.3, 0.7))),
      );
    }
    figure(
      img,
      rng,
      img.width * rng.range(0.3, 0.7),
      img.height * 0.3,
      img.height * 0.55,
      p([0.7, 0.5, 0.35]),
      p(hsv(rng.uniform(), 0.9, 0.8)),
    );
    outlines(img, rng, 0.4);
  },
  pop(img, rng, _q, p) {
    const tiles = 1 + rng.int(3);
    const tw = img.width / tiles;
    const th = img.height / tiles;
    const face = [0.95, 0.75, 0.65] as Rgb;
    for (let ty = 0; ty < tiles; ty++) {
      for (let tx = 0; tx < tiles; tx++) {
        const bg = p(hsv(rng.uniform(), 0.9, 0.95));
        img.polygon(
          [
            [tx * tw, ty * th],
            [(tx + 1) * tw, ty * th],
            [(tx + 1) * tw, (ty + 1) * th],
            [tx * tw, (ty + 1) * th],
          ],
          bg,
        );
        img.ellipse(
          (tx + 0.5) * tw,
          (ty + 0.5) * th,
          tw * 0.28,
          th * 0.36,
          0,
          jitter(rng, face, 0.15),
        );
        img.ellipse(
          (tx + 0.5) * tw,
          (ty + 0.3) * th,
          tw * 0.32,
          th * 0.16,
          0,
          p(hsv(rng.uniform(), 1, 0.8)),
        );
      }
    }
    for (let y = 2; y < img.height; y += 4) {
      for (let x = (y / 4) % 2 ? 0 : 2; x < img.width; x += 4)
        img.ellipse(x, y, 0.9, 0.9, 0, [0.9, 0.2, 0.25], 0.35);
    }
  },
  drip(img, rng, _q, p) {
    img.fill(p([0.82, 0.78, 0.7]));
    const n = 60 + rng.int(80);
    for (let k = 0; k < n; k++) {
      const c = p(
        (
          [
            [0.05, 0.05, 0.05],
            [0.95, 0.95, 0.92],
            [0.75, 0.6, 0.3],
            [0.5, 0.5, 0.55],
          ] as Rgb[]
        )[rng.int(4)] as Rgb,
      );
      let x = rng.uniform() * img.width;
      let y = rng.uniform() * img.height;
      let a = rng.uniform() * Math.PI * 2;
      const w = rng.range(0.6, 2.2);
      for (let s = 0; s < 12; s++) {
        a += rng.normal() * 0.6;
        const nx = x + Math.cos(a) * 5;
        const ny = y + Math.sin(a) * 5;
        img.stroke(x, y, nx, ny, w, c, 0.9);
        x = nx;
        y = ny;
      }
    }
  },
  grid(img, rng, _q, p) {
    img.fill(jitter(rng, [0.93, 0.92, 0.88], 0.03));
    const xs = [0, img.width];
    const ys = [0, img.height];
    for (let k = 0; k < 2 + rng.int(3); k++) xs.push(rng.uniform() * img.width);
    for (let k = 0; k < 2 + rng.int(3); k++) ys.push(rng.uniform() * img.height);
    xs.sort((a, b) => a - b);
    ys.sort((a, b) => a - b);
    const primaries: Rgb[] = [
      [0.85, 0.1, 0.1],
      [0.1, 0.2, 0.65],
      [0.95, 0.8, 0.1],
    ];
    for (let i = 0; i + 1 < xs.length; i++) {
      for (let j = 0; j + 1 < ys.length; j++) {
        if (rng.uniform() < 0.25) {
          const c = p(primaries[rng.int(3)] as Rgb);
          const [x0, x1, y0, y1] = [
            xs[i] as number,
            xs[i + 1] as number,
            ys[j] as number,
            ys[j + 1] as number,
          ];
          img.polygon(
            [
              [x0, y0],
              [x1, y0],
              [x1, y1],
              [x0, y1],
            ],
            c,
          );
        }
      }
    }
    const lw = rng.range(1.5, 3.5);
    for (const x of xs) img.stroke(x, 0, x, img.height, lw, [0.05, 0.05, 0.05]);
    for (const y of ys) img.stroke(0, y, img.width, y, lw, [0.05, 0.05, 0.05]);
  },
  suprematist(img, rng, _q, p) {
    img.fill(jitter(rng, [0.92, 0.9, 0.84], 0.03));
    const n = 1 + rng.int(8);
    for (let k = 0; k < n; k++) {
      const c = p(
        (
          [
            [0.05, 0.05, 0.05],
            [0.8, 0.1, 0.1],
            [0.1, 0.2, 0.6],
            [0.9, 0.75, 0.1],
          ] as Rgb[]
        )[rng.int(4)] as Rgb,
      );
      const x = rng.range(0.2, 0.8) * img.width;
      const y = rng.range(0.2, 0.8) * img.height;
      const a = rng.range(0, Math.PI);
      const w = rng.range(0.05, 0.35) * img.width;
      const h = w * rng.range(0.15, 1);
      const ca = Math.cos(a);
      const sa = Math.sin(a);
      const pt = (u: number, v: number): [number, number] => [
        x + u * ca - v * sa,
        y + u * sa + v * ca,
      ];
      if (rng.uniform() < 0.2) img.ellipse(x, y, w / 2, w / 2, 0, c);
      else
        img.polygon(
          [pt(-w / 2, -h / 2), pt(w / 2, -h / 2), pt(w / 2, h / 2), pt(-w / 2, h / 2)],
          c,
        );
    }
  },
  mural(img, rng, q, p) {
    const hy = landscape(img, rng, q, p([0.75, 0.65, 0.5]), p([0.55, 0.4, 0.25]));
    const n = 2 + rng.int(5);
    for (let k = 0; k < n; k++) {
      const cx = rng.uniform() * img.width;
      img.ellipse(cx, hy, img.width * 0.1, img.height * 0.22, 0, p([0.35, 0.25, 0.2]));
      img.ellipse(
        cx,
        hy - img.height * 0.26,
        img.width * 0.05,
        img.width * 0.055,
        0,
        [0.55, 0.38, 0.25],
      );
    }
    outlines(img, rng, 0.5);
  },
};

/** Darkens pixels where colour changes sharply, as drawn contours. */
function outlines(img: Raster, _rng: Rng, strength: number): void {
  const { width: w, height: h } = img;
  const src = img.rgb.slice();
  for (let y = 1; y < h - 1; y++) {
    for (let x = 1; x < w - 1; x++) {
      const i = (y * w + x) * 3;
      let g = 0;
      for (let c = 0; c < 3; c++) {
        g += Math.abs((src[i + 3 + c] as number) - (src[i - 3 + c] as number));
        g += Math.abs((src[i + w * 3 + c] as number) - (src[i - w * 3 + c] as number));
      }
      const f = 1 - strength * Math.min(1, g * 1.5);
      for (let c = 0; c < 3; c++) img.rgb[i + c] = (img.rgb[i + c] as number) * f;
    }
  }
}

/** Canvas weave, the artist's brightness, a signature and varnish yellowing. */
function finish(img: Raster, q: ArtistQuirks, rng: Rng): void {
  img.grain(rng, 0.02);
  if (q.signature !== 'none') {
    const x0 = q.signature === 'left' ? img.width * 0.06 : img.width * 0.78;
    const y0 = img.height * 0.93;
    let x = x0;
    for (let k = 0; k < 5; k++) {
      const nx = x + img.width * 0.03;
      img.stroke(x, y0 + rng.normal(), nx, y0 + rng.normal() * 2, 1, [0.15, 0.08, 0.05], 0.8);
      x = nx;
    }
  }
  const yellow = rng.range(0, 0.12);
  for (let i = 0; i < img.rgb.length; i += 3) {
    img.rgb[i] = clamp((img.rgb[i] as number) * q.brightness, 0, 1);
    img.rgb[i + 1] = clamp((img.rgb[i + 1] as number) * q.brightness * (1 - yellow * 0.3), 0, 1);
    img.rgb[i + 2] = clamp((img.rgb[i + 2] as number) * q.brightness * (1 - yellow), 0, 1);
  }
}
