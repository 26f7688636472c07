import { check } from '../util/errors';

/** An RGB image: height*width*3 bytes, row-major (the same shape as lib/data's RgbImage). */
export interface RgbPixels {
  height: number;
  width: number;
  data: Uint8Array;
}

/**
 * Anchors of matplotlib's "inferno" colour map (perceptually uniform, readable in greyscale and by
 * colour-blind readers), interpolated linearly between them: 0 is near-black, 1 pale yellow.
 */
const INFERNO: readonly [number, number, number][] = [
  [0, 0, 4],
  [40, 11, 84],
  [101, 21, 110],
  [159, 42, 99],
  [212, 72, 66],
  [245, 125, 21],
  [250, 193, 39],
  [252, 255, 164],
];

/** The colour of `v` in [0, 1] under the inferno map. */
export function infernoColour(v: number): [number, number, number] {
  const t = Math.max(0, Math.min(1, Number.isFinite(v) ? v : 0)) * (INFERNO.length - 1);
  const i = Math.min(INFERNO.length - 2, Math.floor(t));
  const f = t - i;
  const a = INFERNO[i]!;
  const b = INFERNO[i + 1]!;
  return [0, 1, 2].map((c) => Math.round(a[c]! + f * (b[c]! - a[c]!))) as [number, number, number];
}

/**
 * A heatmap (values in [0, 1], one per pixel of `image`) blended over the image: each pixel is
 * (1 - alpha * v) * image + alpha * v * colour(v), so cold regions show the image unchanged and hot
 * ones the colour map.
 */
export function overlayHeatmap(image: RgbPixels, heat: Float32Array, alpha = 0.6): RgbPixels {
  const { height, width, data } = image;
  check(
    data.length === height * width * 3,
    'image',
    `expected ${height * width * 3} bytes for ${height}x${width} RGB, got ${data.length}`,
  );
  check(
    heat.length === height * width,
    'heat',
    `expected one value per pixel (${height * width}), got ${heat.length}`,
  );
  check(alpha >= 0 && alpha <= 1, 'alpha', `expected a number in [0, 1], got ${alpha}`);
  const out = new Uint8Array(data.length);
  for (let p = 0; p < height * width; p++) {
    const v = Math.max(0, Math.min(1, heat[p]!));
    const colour = infernoColour(v);
    const w = alpha * v;
    for (let c = 0; c < 3; c++)
      out[p * 3 + c] = Math.round((1 - w) * data[p * 3 + c]! + w * colour[c]!);
  }
  return { height, width, data: out };
}

/** The heatmap alone as an RGB image (the colour map at full strength). */
export function heatmapImage(heat: Float32Array, height: number, width: number): RgbPixels {
  check(
    heat.length === height * width,
    'heat',
    `expected ${height * width} values, got ${heat.length}`,
  );
  const data = new Uint8Array(height * width * 3);
  for (let p = 0; p < height * width; p++) data.set(infernoColour(heat[p]!), p * 3);
  return { height, width, data };
}
