import { Rng } from '../../util/rng';
import { clamp } from './raster';
import { renderSculpture } from './sculpture-render';
import { BACKDROPS, MATERIALS, SculptureScene, SUBJECTS } from './sculpture-styles';
import { checkTaskOptions } from './source-task';

/**
 * The "objects" source task on which the bundled Xception base is pretrained instead of ImageNet:
 * photographs of carved and cast objects, labelled by what they are made of (12 materials), where
 * they stand (6 backdrops) and what they show (6 subjects), plus 12 continuous attributes of
 * shape, surface and light to regress (pose energy, drapery, tool marks, contrast...).
 *
 * Like ImageNet, which has statues, fountains and churches among its classes, it shares the
 * photographic domain with the style study but never its labels: every attribute is drawn
 * independently and uniformly over its range, so no style's rules (`sculpture-styles.ts`) and no
 * style name enter it. Why it replaced the texture task for Xception: the texture classes are
 * colour-blind by construction (each image's colours are random), so a base pretrained on them
 * learns to ignore colour, material and setting, and a classifier of styles on top of it stayed
 * near 25% validation accuracy in the teaching profile.
 */

/** Continuous attributes, each scaled to [0, 1] over the range it is drawn from. */
export const OBJECT_ATTRIBUTES = {
  heads: [6, 10],
  dynamism: [0, 1],
  contrapposto: [0, 1],
  robe: [0, 1],
  folds: [2, 12],
  curl: [0, 1],
  roughness: [0, 0.6],
  chisel: [0, 0.6],
  contrast: [0.1, 1],
  scale: [0.5, 0.95],
  warmth: [-1, 1],
  distortion: [0, 1],
} as const satisfies Record<string, readonly [number, number]>;
export type ObjectAttribute = keyof typeof OBJECT_ATTRIBUTES;
export const OBJECT_ATTRIBUTE_NAMES = Object.keys(OBJECT_ATTRIBUTES) as ObjectAttribute[];

/** The categorical targets, each a softmax head when the base is pretrained. */
export const OBJECT_CLASSES = {
  material: [...MATERIALS],
  backdrop: [...BACKDROPS],
  subject: [...SUBJECTS],
} as const;
export type ObjectHead = keyof typeof OBJECT_CLASSES;
export const OBJECT_HEADS = Object.keys(OBJECT_CLASSES) as ObjectHead[];

export interface ObjectTaskOptions {
  seed: number;
  count: number;
  /** Side of the square images in pixels; each is drawn at twice this and box-filtered down. */
  size: number;
}

export interface ObjectTask {
  /** NHWC RGB, values 0..255. */
  images: Float32Array;
  /** Class index per image and head. */
  labels: Record<ObjectHead, Int32Array>;
  /** count x OBJECT_ATTRIBUTE_NAMES.length, row-major, each in [0, 1]. */
  attributes: Float32Array;
  size: number;
}

/** A scene that follows no style: every choice uniform and independent. */
export function sampleNeutralScene(rng: Rng): SculptureScene {
  const u = (a: ObjectAttribute): number => {
    const [lo, hi] = OBJECT_ATTRIBUTES[a];
    return rng.range(lo, hi);
  };
  return {
    style: null,
    subject: SUBJECTS[rng.int(SUBJECTS.length)] as SculptureScene['subject'],
    material: MATERIALS[rng.int(MATERIALS.length)] as SculptureScene['material'],
    backdrop: BACKDROPS[rng.int(BACKDROPS.length)] as SculptureScene['backdrop'],
    heads: u('heads'),
    dynamism: u('dynamism'),
    contrapposto: u('contrapposto'),
    symmetric: rng.uniform() < 0.5,
    robe: u('robe'),
    folds: u('folds'),
    curl: u('curl'),
    roughness: u('roughness'),
    chisel: u('chisel'),
    contrast: u('contrast'),
    scale: u('scale'),
    warmth: u('warmth'),
    distortion: u('distortion'),
  };
}

/** Generates the task in memory; the same options give the same arrays. */
export function generateObjectTask(opts: ObjectTaskOptions): ObjectTask {
  checkTaskOptions(opts, 16, 256);
  const { count, size } = opts;
  const big = size * 2;
  const root = new Rng(opts.seed).fork('object-task');
  const images = new Float32Array(count * size * size * 3);
  const labels = {
    material: new Int32Array(count),
    backdrop: new Int32Array(count),
    subject: new Int32Array(count),
  };
  const nAttr = OBJECT_ATTRIBUTE_NAMES.length;
  const attributes = new Float32Array(count * nAttr);
  for (let i = 0; i < count; i++) {
    const rng = root.fork(`image/${i}`);
    const scene = sampleNeutralScene(rng.fork('scene'));
    labels.material[i] = MATERIALS.indexOf(scene.material);
    labels.backdrop[i] = BACKDROPS.indexOf(scene.backdrop);
    labels.subject[i] = SUBJECTS.indexOf(scene.subject);
    OBJECT_ATTRIBUTE_NAMES.forEach((a, j) => {
      const [lo, hi] = OBJECT_ATTRIBUTES[a];
      attributes[i * nAttr + j] = (scene[a] - lo) / (hi - lo);
    });
    const { image } = renderSculpture(scene, rng.fork('render'), big, big);
    // 2x2 box filter: the style images are also seen downscaled, never at their drawing size.
    const off = i * size * size * 3;
    for (let y = 0; y < size; y++)
      for (let x = 0; x < size; x++)
        for (let c = 0; c < 3; c++) {
          const at = (yy: number, xx: number): number =>
            image.rgb[(yy * big + xx) * 3 + c] as number;
          const v =
            (at(2 * y, 2 * x) +
              at(2 * y, 2 * x + 1) +
              at(2 * y + 1, 2 * x) +
              at(2 * y + 1, 2 * x + 1)) /
            4;
          images[off + (y * size + x) * 3 + c] = Math.round(clamp(v, 0, 1) * 255);
        }
  }
  return { images, labels, attributes, size };
}
