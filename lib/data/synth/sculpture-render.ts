import { Rng } from '../../util/rng';
import { clamp, jitter, mix, Raster, Rgb, valueNoise, hsv } from './raster';
import { Relief, strokeField, Tone } from './relief';
import { Material, SculptureScene } from './sculpture-styles';

interface Pose {
  heads: number;
  lean: number;
  contra: number;
  arms: [number, number, number, number];
  stance: number;
  knee: number;
  bulk: number;
  headTilt: number;
  robe: number;
  limbStretch: number;
  /** Busts keep only the stumps of the upper arms. */
  armless: boolean;
}

function samplePose(scene: SculptureScene, rng: Rng): Pose {
  const d = scene.dynamism;
  const armUp = (): number => Math.abs(rng.normal() * (0.25 + 1.5 * d)) + 0.08;
  const elbow = (): number => rng.normal() * (0.2 + 0.9 * d);
  let arms: [number, number, number, number] = [armUp(), elbow(), armUp(), elbow()];
  if (scene.symmetric) arms = [arms[0], arms[1], arms[0], arms[1]];
  const side = rng.uniform() < 0.5 ? -1 : 1;
  return {
    heads: scene.heads,
    lean: scene.symmetric ? rng.normal() * 0.03 : rng.normal() * (0.04 + 0.28 * d),
    contra: side * scene.contrapposto * (scene.symmetric ? 0.3 : 1),
    arms,
    stance: rng.range(0.1, 0.35) + 0.4 * d * rng.uniform(),
    knee: scene.symmetric ? 0 : scene.contrapposto * rng.range(0.2, 0.8) + d * rng.uniform() * 0.5,
    bulk: rng.range(0.85, 1.2),
    headTilt: rng.normal() * (0.05 + 0.3 * d),
    robe: scene.robe,
    limbStretch: scene.distortion,
    armless: false,
  };
}

/** A standing figure of height `H` whose feet rest at (cx, footY); parts raised by `z`. */
function drawFigure(
  r: Relief,
  pose: Pose,
  cx: number,
  footY: number,
  H: number,
  z: number,
  rng: Rng,
) {
  const hh = H / pose.heads;
  const b = pose.bulk;
  const top = footY - H;
  const stretch = (): number => 1 + pose.limbStretch * rng.range(-0.4, 1.1);
  const pelvisY = top + 3.85 * hh;
  const pelvis: [number, number] = [cx + pose.lean * 0.5 * hh, pelvisY];
  const spine = 2.75 * hh;
  const sx = Math.sin(pose.lean);
  const sy = -Math.cos(pose.lean);
  const shoulderC: [number, number] = [pelvis[0] + sx * spine, pelvis[1] + sy * spine];
  const shTilt = -pose.contra * 0.2;
  const hipTilt = pose.contra * 0.25;
  const perp = (tilt: number): [number, number] => [
    Math.cos(pose.lean + tilt),
    Math.sin(pose.lean + tilt),
  ];
  const [spx, spy] = perp(shTilt);
  const [hpx, hpy] = perp(hipTilt);
  const shoulders = [-1, 1].map(
    (s) =>
      [shoulderC[0] + s * spx * 0.95 * hh * b, shoulderC[1] + s * spy * 0.95 * hh * b] as const,
  );
  const hips = [-1, 1].map(
    (s) => [pelvis[0] + s * hpx * 0.45 * hh * b, pelvis[1] + s * hpy * 0.45 * hh * b] as const,
  );
  const along = (t: number): [number, number] => [
    pelvis[0] + sx * spine * t,
    pelvis[1] + sy * spine * t,
  ];

  // Legs: the weight leg straight under the pelvis, the free leg bent and set aside.
  const weightSide = pose.contra >= 0 ? 0 : 1;
  for (let s = 0; s < 2; s++) {
    const hip = hips[s] as readonly [number, number];
    const dir = s === 0 ? -1 : 1;
    const free = s !== weightSide;
    const bend = free ? pose.knee : pose.knee * 0.15;
    const legLen = (footY - hip[1]) * (free ? 1 - 0.06 * bend : 1);
    const foot: [number, number] = [hip[0] + dir * pose.stance * hh, hip[1] + legLen];
    const knee: [number, number] = [
      (hip[0] + foot[0]) / 2 + dir * bend * 0.35 * hh,
      (hip[1] + foot[1]) / 2 - bend * 0.1 * hh,
    ];
    r.capsule(hip[0], hip[1], 0.42 * hh * b, knee[0], knee[1], 0.28 * hh * b, z, Tone.Body);
    r.capsule(knee[0], knee[1], 0.28 * hh * b, foot[0], foot[1], 0.17 * hh * b, z, Tone.Body);
    r.dome(foot[0] + dir * 0.1 * hh, foot[1], 0.3 * hh, 0.13 * hh, 0, z + 0.05 * hh, Tone.Body);
  }

  // Torso as chest, belly and pelvis masses along the spine.
  const chest = along(0.72);
  const belly = along(0.38);
  r.dome(pelvis[0], pelvis[1], 0.85 * hh * b, 0.6 * hh, pose.lean, z + 0.1 * hh, Tone.Body);
  r.dome(belly[0], belly[1], 0.75 * hh * b, 0.9 * hh, pose.lean, z + 0.1 * hh, Tone.Body);
  r.dome(chest[0], chest[1], 0.92 * hh * b, 1.0 * hh, pose.lean + shTilt, z + 0.1 * hh, Tone.Body);

  // Drapery: a robe from the waist (or chest) to the feet, or a cloth about the hips.
  if (pose.robe > 0.55) {
    const from = along(pose.robe > 0.8 ? 0.85 : 0.25);
    const hem = footY - 0.25 * hh;
    const flare = 1 + 0.5 * pose.robe;
    r.capsule(from[0], from[1], 0.95 * hh * b, cx, hem, flare * hh * b, z + 0.2 * hh, Tone.Garment);
  } else if (pose.robe > 0.25) {
    r.dome(pelvis[0], pelvis[1] + 0.2 * hh, 1.05 * hh * b, 0.75 * hh, hipTilt, z + 0.2 * hh, 1);
  }

  // Arms: angle 0 hangs down, pi/2 is horizontal, pi is raised overhead.
  for (let s = 0; s < 2; s++) {
    const sh = shoulders[s] as readonly [number, number];
    const dir = s === 0 ? -1 : 1;
    const a1 = pose.arms[s * 2] as number;
    const a2 = a1 + (pose.arms[s * 2 + 1] as number);
    const up = (pose.armless ? 0.5 : 1.45) * hh * stretch();
    const fore = 1.3 * hh * stretch();
    const elbow: [number, number] = [sh[0] + dir * Math.sin(a1) * up, sh[1] + Math.cos(a1) * up];
    const hand: [number, number] = [
      elbow[0] + dir * Math.sin(a2) * fore,
      elbow[1] + Math.cos(a2) * fore,
    ];
    const tone = pose.robe > 0.8 ? Tone.Garment : Tone.Body;
    r.capsule(sh[0], sh[1], 0.3 * hh * b, elbow[0], elbow[1], 0.22 * hh * b, z + 0.3 * hh, tone);
    if (pose.armless) continue;
    r.capsule(elbow[0], elbow[1], 0.22 * hh * b, hand[0], hand[1], 0.15 * hh * b, z + 0.3 * hh, 0);
    r.dome(hand[0], hand[1], 0.17 * hh, 0.22 * hh, a2, z + 0.35 * hh, Tone.Body);
  }

  // Neck, head and hair.
  const ha = pose.lean + pose.headTilt;
  const neckTop: [number, number] = [
    shoulderC[0] + Math.sin(ha) * 0.5 * hh,
    shoulderC[1] - 0.5 * hh,
  ];
  const headC: [number, number] = [
    shoulderC[0] + Math.sin(ha) * 0.95 * hh,
    shoulderC[1] - Math.cos(ha) * 0.95 * hh,
  ];
  const headScale = stretch() * 0.5 + 0.5;
  r.capsule(
    shoulderC[0],
    shoulderC[1],
    0.2 * hh,
    neckTop[0],
    neckTop[1],
    0.18 * hh,
    z + 0.2 * hh,
    0,
  );
  r.dome(headC[0], headC[1], 0.38 * hh * headScale, 0.5 * hh * headScale, ha, z + 0.2 * hh, 0);
  r.dome(
    headC[0] - Math.sin(ha) * 0.12 * hh,
    headC[1] - 0.18 * hh,
    0.36 * hh * headScale,
    0.3 * hh * headScale,
    ha,
    z + 0.25 * hh,
    Tone.Accent,
  );
}

function drawPlinth(r: Relief, cx: number, top: number, w: number, h: number): void {
  r.box(cx - w / 2, top, cx + w / 2, top + h, h * 0.6, Math.max(1, h * 0.15), Tone.Base);
}

/** Models the scene's subject in the relief; returns the figure's unit size for surface work. */
function model(scene: SculptureScene, r: Relief, rng: Rng): number {
  const W = r.width;
  const Hh = r.height;
  const cx = W * (0.5 + rng.normal() * 0.06);
  const fig = Hh * scene.scale;
  switch (scene.subject) {
    case 'figure': {
      const pose = samplePose(scene, rng);
      const plinthH = Hh * rng.range(0.03, 0.12);
      const foot =
        Math.min(Hh - plinthH, Hh * (0.5 + scene.scale * 0.48)) + rng.normal() * Hh * 0.03;
      drawFigure(r, pose, cx, foot, fig * 0.92, 0, rng);
      drawPlinth(r, cx, foot, fig * rng.range(0.3, 0.5), plinthH);
      return fig / pose.heads;
    }
    case 'group': {
      const n = 2 + rng.int(2);
      const foot = Hh * (0.5 + scene.scale * 0.45);
      let unit = 0;
      for (let k = 0; k < n; k++) {
        const pose = samplePose(scene, rng);
        const h = fig * rng.range(0.55, 0.85);
        const x = cx + (k - (n - 1) / 2) * W * rng.range(0.2, 0.3);
        drawFigure(r, pose, x, foot - rng.range(0, 0.05) * Hh, h, k * 0.1 * h, rng);
        unit = Math.max(unit, h / pose.heads);
      }
      drawPlinth(r, cx, foot, W * rng.range(0.6, 0.9), Hh * 0.06);
      return unit;
    }
    case 'bust': {
      const pose = samplePose(scene, rng);
      pose.arms = [0.1, 0, 0.1, 0];
      pose.armless = true;
      pose.lean *= 0.3;
      const hh = Hh * rng.range(0.22, 0.34) * (scene.scale + 0.2);
      const socle = Hh * rng.range(0.08, 0.16);
      const cut = Hh - socle;
      drawFigure(r, pose, cx, cut - 2.8 * hh + pose.heads * hh, pose.heads * hh, 0, rng);
      r.clipBelow(cut);
      r.box(cx - hh * 0.7, cut, cx + hh * 0.7, Hh, hh * 0.4, 1, Tone.Base);
      return hh;
    }
    case 'relief': {
      const m = W * rng.range(0.04, 0.12);
      const depth = Hh * 0.05;
      r.box(m, m, W - m, Hh - m, depth, W * 0.02, Tone.Base);
      r.depthScale = rng.range(0.15, 0.35);
      const n = 1 + rng.int(3);
      const foot = Hh - m * 1.6;
      let unit = 0;
      for (let k = 0; k < n; k++) {
        const pose = samplePose(scene, rng);
        const h = (foot - m * 1.4) * rng.range(0.7, 0.95);
        const x = W / 2 + (k - (n - 1) / 2) * ((W - 2 * m) / n);
        drawFigure(r, pose, x, foot, h, depth, rng);
        unit = h / pose.heads;
      }
      r.depthScale = 1;
      return unit;
    }
    case 'biomorph': {
      const n = 3 + rng.int(4);
      const cy = Hh * rng.range(0.4, 0.55);
      const s = Math.min(W, Hh) * scene.scale * 0.5;
      for (let k = 0; k < n; k++) {
        r.dome(
          cx + rng.normal() * s * 0.35,
          cy + rng.normal() * s * 0.45,
          s * rng.range(0.2, 0.5),
          s * rng.range(0.25, 0.6),
          rng.range(0, Math.PI),
          0,
          k === 0 ? Tone.Body : Tone.Garment,
        );
      }
      const holes = rng.int(3);
      for (let k = 0; k < holes; k++) {
        r.hole(cx + rng.normal() * s * 0.2, cy + rng.normal() * s * 0.3, s * rng.range(0.08, 0.18));
      }
      drawPlinth(r, cx, Math.min(Hh * 0.93, cy + s * 0.9), s * 0.8, Hh * 0.07);
      return s / 3;
    }
    case 'geometric': {
      const kind = rng.int(4);
      const s = Math.min(W, Hh) * scene.scale;
      const floor = Hh * rng.range(0.78, 0.92);
      if (kind === 0) {
        r.box(cx - s / 2, floor - s, cx + s / 2, floor, s * 0.3, s * 0.03, Tone.Body);
      } else if (kind === 1) {
        const n = 3 + rng.int(5);
        const gap = (s * 1.2) / n;
        for (let k = 0; k < n; k++) {
          const y = floor - (k + 1) * gap;
          r.box(cx - s * 0.35, y, cx + s * 0.35, y + gap * 0.55, s * 0.15, 1.5, Tone.Body);
        }
      } else if (kind === 2) {
        const n = 2 + rng.int(4);
        for (let k = 0; k < n; k++) {
          const x = W * 0.1 + (k * W * 0.8) / n;
          r.box(x, floor - s * 0.25, x + (W * 0.8) / n - 3, floor, s * 0.1, 1.5, Tone.Body);
        }
      } else {
        r.capsule(cx, floor - s, s * 0.12, cx, floor - s * 0.1, s * 0.12, 0, Tone.Body);
      }
      return s / 4;
    }
  }
}

interface MaterialLook {
  base: Rgb;
  garment: Rgb;
  accent: Rgb;
  spec: number;
  shine: number;
  veins: number;
  grain: number;
  metal: boolean;
}

/** Polychrome robes of painted wood and stone: lapis, vermilion, green earth, ochre. */
const PAINTED_GARMENTS: readonly Rgb[] = [
  [0.15, 0.22, 0.55],
  [0.6, 0.12, 0.1],
  [0.2, 0.4, 0.25],
  [0.75, 0.6, 0.25],
];

function materialLook(m: Material, rng: Rng): MaterialLook {
  const j = (c: Rgb, a = 0.05): Rgb => jitter(rng, c, a);
  const same = (c: Rgb, spec: number, shine: number, veins = 0, grain = 0.02, metal = false) => ({
    base: c,
    garment: c,
    accent: c,
    spec,
    shine,
    veins,
    grain,
    metal,
  });
  switch (m) {
    case 'marble':
      return same(j([0.88, 0.86, 0.81], 0.04), 0.25, 18, rng.range(0.05, 0.3), 0.01);
    case 'plaster':
      return same(j([0.9, 0.89, 0.86], 0.03), 0.05, 6, 0, 0.015);
    case 'bronze': {
      const c = j([0.38, 0.25, 0.14], 0.06);
      const patina = mix(c, [0.3, 0.45, 0.36], rng.range(0, 0.6));
      return { ...same(patina, 0.6, 28, 0, 0.03, true), accent: c };
    }
    case 'gilt':
      return same(j([0.83, 0.63, 0.24], 0.05), 0.8, 24, 0, 0.02, true);
    case 'stone':
      return same(j([0.6, 0.56, 0.5], 0.07), 0.05, 8, 0, 0.08);
    case 'terracotta':
      return same(j([0.72, 0.42, 0.28], 0.05), 0.05, 8, 0, 0.04);
    case 'wood':
      return same(j([0.5, 0.34, 0.2], 0.06), 0.12, 10, 0, 0.05);
    case 'steel':
      return same(j([0.58, 0.6, 0.63], 0.04), 0.7, 40, 0, 0.01, true);
    case 'corten':
      return same(j([0.45, 0.24, 0.12], 0.05), 0.1, 10, 0, 0.06);
    case 'flat': {
      const c = hsv(rng.uniform(), rng.range(0.5, 0.95), rng.range(0.4, 0.95));
      return same(c, 0.15, 12, 0, 0.005);
    }
    case 'painted':
      return {
        base: j([0.85, 0.68, 0.55], 0.05),
        garment: PAINTED_GARMENTS[rng.int(PAINTED_GARMENTS.length)] as Rgb,
        accent: j([0.35, 0.22, 0.12], 0.05),
        spec: 0.1,
        shine: 8,
        veins: 0,
        grain: 0.05,
        metal: false,
      };
    case 'porcelain':
      return {
        base: j([0.95, 0.93, 0.9], 0.02),
        garment: hsv(rng.uniform(), rng.range(0.2, 0.4), 0.92),
        accent: [0.85, 0.68, 0.3],
        spec: 0.55,
        shine: 35,
        veins: 0,
        grain: 0.005,
        metal: false,
      };
  }
}

function backdrop(scene: SculptureScene, img: Raster, rng: Rng): void {
  const n = valueNoise(rng, img.width, img.height, img.width / 3, 3);
  switch (scene.backdrop) {
    case 'studio': {
      const c = jitter(rng, [0.55, 0.53, 0.5], 0.12);
      img.gradient(mix(c, [1, 1, 1], 0.2), mix(c, [0, 0, 0], 0.35), Math.PI / 2);
      img.vignette(0.5);
      break;
    }
    case 'dark': {
      const c = jitter(rng, [0.1, 0.08, 0.07], 0.05);
      img.fill(c);
      img.vignette(-0.6, rng.range(0.3, 0.7), rng.range(0.2, 0.5));
      break;
    }
    case 'museum': {
      const wall = hsv(
        [0.0, 0.33, 0.6, 0.08][rng.int(4)] as number,
        rng.range(0.2, 0.5),
        rng.range(0.25, 0.55),
      );
      img.fill(wall);
      const floorY = Math.floor(img.height * rng.range(0.75, 0.95));
      const floorC = jitter(rng, [0.35, 0.3, 0.27], 0.08);
      for (let y = floorY; y < img.height; y++) {
        for (let x = 0; x < img.width; x++) img.blend(x, y, floorC, 1);
      }
      img.vignette(0.3);
      break;
    }
    case 'sky': {
      const top = jitter(rng, [0.35, 0.55, 0.85], 0.08);
      img.gradient(top, mix(top, [0.95, 0.95, 0.95], 0.7), Math.PI / 2);
      img.addField(n, 0.12);
      const ground = Math.floor(img.height * rng.range(0.8, 1.0));
      const gc = jitter(rng, [0.3, 0.42, 0.22], 0.08);
      for (let y = ground; y < img.height; y++) {
        for (let x = 0; x < img.width; x++) img.blend(x, y, gc, 1);
      }
      break;
    }
    case 'church': {
      const c = jitter(rng, [0.45, 0.4, 0.33], 0.08);
      img.fill(c);
      img.addField(n, 0.1);
      // A niche behind the figure: a darker round-topped recess.
      const w = img.width * rng.range(0.45, 0.7);
      const x0 = (img.width - w) / 2;
      const nc = mix(c, [0, 0, 0], 0.45);
      img.polygon(
        [
          [x0, img.height * 0.3],
          [x0 + w, img.height * 0.3],
          [x0 + w, img.height],
          [x0, img.height],
        ],
        nc,
      );
      img.ellipse(img.width / 2, img.height * 0.3, w / 2, w / 2, 0, nc);
      img.vignette(0.5);
      break;
    }
    case 'white': {
      const c = jitter(rng, [0.92, 0.92, 0.9], 0.04);
      img.gradient(c, mix(c, [0.6, 0.6, 0.6], 0.25), Math.PI / 2);
      break;
    }
  }
}

/** Lights the relief and composites it over the backdrop with a cast shadow. */
function shade(scene: SculptureScene, r: Relief, img: Raster, unit: number, rng: Rng): void {
  const W = r.width;
  const H = r.height;
  const look = materialLook(scene.material, rng);
  const az = rng.range(-Math.PI * 0.9, -Math.PI * 0.1) + (rng.uniform() < 0.3 ? Math.PI * 0.2 : 0);
  const el = rng.range(0.35, 1.1) - scene.contrast * 0.3;
  const L: [number, number, number] = [
    Math.cos(az) * Math.cos(el),
    -Math.abs(Math.sin(az)) * Math.cos(el),
    Math.sin(el),
  ];
  const hv = [L[0], L[1], L[2] + 1];
  const hn = Math.hypot(hv[0] as number, hv[1] as number, hv[2] as number);
  const ambient = 0.6 - 0.45 * scene.contrast;
  const key = 1.05 - ambient * 0.6;
  const tint: Rgb = [1 + 0.12 * scene.warmth, 1, 1 - 0.12 * scene.warmth];
  const veins = look.veins > 0 ? valueNoise(rng, W, H, unit * 2, 3) : null;
  const grain = valueNoise(rng, W, H, Math.max(1.5, unit * 0.15), 1);

  // Cast shadow on the backdrop, away from the light.
  const shx = Math.round(-L[0] * unit * 0.8);
  const shy = Math.round(Math.max(1, unit * 0.3));
  const shadow = 0.25 + 0.45 * scene.contrast;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const sx = x - shx;
      const sy = y - shy;
      if (sx < 0 || sy < 0 || sx >= W || sy >= H) continue;
      const c = r.cover[sy * W + sx] as number;
      if (c > 0) {
        const i = (y * W + x) * 3;
        const f = 1 - shadow * c;
        img.rgb[i] = (img.rgb[i] as number) * f;
        img.rgb[i + 1] = (img.rgb[i + 1] as number) * f;
        img.rgb[i + 2] = (img.rgb[i + 2] as number) * f;
      }
    }
  }

  const albedo: Rgb[] = [];
  albedo[Tone.Body] = look.base;
  albedo[Tone.Garment] = look.garment;
  albedo[Tone.Accent] = look.accent;
  albedo[Tone.Base] = look.metal ? look.base : mix(look.base, [0.5, 0.48, 0.45], 0.3);
  const h = r.h;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const p = y * W + x;
      const cover = r.cover[p] as number;
      if (cover <= 0) continue;
      const xl = x > 0 && (r.cover[p - 1] as number) > 0 ? (h[p - 1] as number) : (h[p] as number);
      const xr =
        x < W - 1 && (r.cover[p + 1] as number) > 0 ? (h[p + 1] as number) : (h[p] as number);
      const yu = y > 0 && (r.cover[p - W] as number) > 0 ? (h[p - W] as number) : (h[p] as number);
      const yd =
        y < H - 1 && (r.cover[p + W] as number) > 0 ? (h[p + W] as number) : (h[p] as number);
      let nx = -(xr - xl) / 2;
      let ny = -(yd - yu) / 2;
      let nz = 1;
      const nl = Math.hypot(nx, ny, nz);
      nx /= nl;
      ny /= nl;
      nz /= nl;
      const diff = Math.max(0, nx * L[0] + ny * L[1] + nz * L[2]);
      const nh = Math.max(
        0,
        (nx * (hv[0] as number) + ny * (hv[1] as number) + nz * (hv[2] as number)) / hn,
      );
      const spec = look.spec * key * Math.pow(nh, look.shine);
      const a = albedo[r.tone[p] as number] as Rgb;
      let g = 1 + look.grain * 4 * (grain[p] as number);
      if (veins) g *= 1 - look.veins * Math.exp(-Math.abs(veins[p] as number) * 25);
      const light = ambient + key * diff;
      const i = p * 3;
      for (let c = 0; c < 3; c++) {
        const alb = (a[c] as number) * g;
        const sc = look.metal ? (a[c] as number) * 1.6 : 1;
        const v = (alb * light + spec * sc) * (tint[c] as number);
        img.rgb[i + c] = (img.rgb[i + c] as number) * (1 - cover) + v * cover;
      }
    }
  }
}

/** Surface work: drapery folds, modelled lumps and tool marks, in proportion to the figure. */
function carve(scene: SculptureScene, r: Relief, unit: number, rng: Rng): void {
  const W = r.width;
  const H = r.height;
  if (scene.folds > 0) {
    const f = new Float32Array(W * H);
    const warp = valueNoise(rng, W, H, unit * 2, 2);
    const freq = (scene.folds / (unit * 3)) * Math.PI;
    const a = Math.PI / 2 + rng.normal() * 0.15 * (1 + 3 * scene.curl);
    const ca = Math.cos(a);
    const sa = Math.sin(a);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const p = y * W + x;
        // Folds run along `a`; the warp bends them, strongly when the style's folds swirl.
        const t = -x * sa + y * ca;
        f[p] = Math.sin(t * freq + scene.curl * 9 * (warp[p] as number));
      }
    }
    r.addToSurface(f, unit * 0.12, [Tone.Garment]);
  }
  if (scene.roughness > 0.01) {
    const lumps = valueNoise(rng, W, H, Math.max(2, unit * 0.35), 3);
    r.addToSurface(lumps, unit * scene.roughness * 0.6, [Tone.Body, Tone.Garment, Tone.Accent]);
  }
  if (scene.chisel > 0.01) {
    const n = Math.round(scene.chisel * W * H * 0.02);
    const marks = strokeField(rng, W, H, n, unit * 0.3, rng.range(0, Math.PI), 0.4);
    r.addToSurface(marks, unit * 0.08, [Tone.Body, Tone.Garment, Tone.Base, Tone.Accent]);
  }
}

/** Photographic variation independent of style: exposure, colour cast, vignetting, noise. */
function photograph(img: Raster, rng: Rng): void {
  const exposure = Math.exp(rng.normal() * 0.18);
  const cast: Rgb = jitter(rng, [1, 1, 1], 0.07);
  for (let i = 0; i < img.rgb.length; i += 3) {
    img.rgb[i] = (img.rgb[i] as number) * exposure * cast[0];
    img.rgb[i + 1] = (img.rgb[i + 1] as number) * exposure * cast[1];
    img.rgb[i + 2] = (img.rgb[i + 2] as number) * exposure * cast[2];
  }
  if (rng.uniform() < 0.5) img.vignette(rng.range(0.1, 0.5));
  img.grain(rng, rng.range(0.005, 0.03));
}

export interface RenderedSculpture {
  image: Raster;
  /** Coverage of the sculpture per pixel, used as alpha for cut-out PNG files. */
  cover: Float32Array;
}

/** Draws one photograph of a sculpture of the scene, `width` x `height` pixels. */
export function renderSculpture(
  scene: SculptureScene,
  rng: Rng,
  width: number,
  height: number,
): RenderedSculpture {
  const relief = new Relief(width, height);
  const unit = model(scene, relief, rng.fork('model'));
  carve(scene, relief, unit, rng.fork('carve'));
  const image = new Raster(width, height);
  backdrop(scene, image, rng.fork('backdrop'));
  shade(scene, relief, image, unit, rng.fork('shade'));
  photograph(image, rng.fork('photo'));
  for (let i = 0; i < image.rgb.length; i++) image.rgb[i] = clamp(image.rgb[i] as number, 0, 1);
  return { image, cover: relief.cover };
}
