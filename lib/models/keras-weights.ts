import * as fs from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { ArtstyleError } from '../util/errors';

/** The 8-byte signature that starts an HDF5 file (without a user block, as Keras writes them). */
const HDF5_SIGNATURE = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * The part of h5wasm's API used here. h5wasm is ESM-only and its types cannot be imported from a
 * CommonJS module by the TypeScript that the notebooks use, so they are restated.
 */
interface H5Attr {
  value: unknown;
}
interface H5Node {
  attrs: Record<string, H5Attr>;
}
interface H5Group extends H5Node {
  keys(): string[];
  get(name: string): unknown;
}
interface H5Dataset extends H5Node {
  shape: number[] | null;
  dtype: unknown;
  value: unknown;
}
interface H5File extends H5Group {
  close(): unknown;
}
interface H5 {
  ready: Promise<unknown>;
  File: new (file: string, mode: string) => H5File;
  Group: abstract new (...args: never[]) => H5Group;
  Dataset: abstract new (...args: never[]) => H5Dataset;
}

let h5Module: Promise<H5> | undefined;
/** h5wasm is ESM-only; load it once from this CommonJS library. */
async function loadH5(): Promise<H5> {
  h5Module ??= (import('h5wasm/node') as Promise<unknown>).then(async (m) => {
    const h5 = m as H5;
    await h5.ready;
    return h5;
  });
  return h5Module;
}

export interface KerasFileLayer {
  /** The layer's name in the file (may be older than the model's, e.g. `conv2d_5`). */
  name: string;
  weights: { name: string; shape: number[]; values: Float32Array }[];
}

export interface LoadKerasWeightsResult {
  /** Layers with weights that received values. */
  layers: number;
  /** Weight tensors set. */
  weights: number;
  /** Pairs (file layer, model layer) whose names differ, for the curious. */
  renamed: [string, string][];
}

/** Attributes in Keras files are arrays of fixed-length byte strings (or empty float arrays). */
function stringList(value: unknown, what: string, file: string): string[] {
  if (typeof value === 'string') return [value];
  if (ArrayBuffer.isView(value) && (value as unknown as { length: number }).length === 0) return [];
  if (Array.isArray(value)) return value.map((v) => String(v).replace(/\0+$/, ''));
  throw new ArtstyleError(
    'corrupt-file',
    `${file}: attribute ${what} is not a list of names`,
    file,
  );
}

/**
 * Reads the layers with weights of a Keras 2 HDF5 weight file (`model.save_weights(...h5)` or the
 * `model_weights` group of a full model file), in the file's layer order.
 */
export async function readKerasWeightFile(file: string): Promise<KerasFileLayer[]> {
  let head: Buffer;
  try {
    const fd = fs.openSync(file, 'r');
    head = Buffer.alloc(8);
    fs.readSync(fd, head, 0, 8, 0);
    fs.closeSync(fd);
  } catch (e) {
    throw new ArtstyleError(
      'missing-file',
      `cannot read weight file ${file}: ${(e as Error).message}`,
      file,
      {
        cause: e,
      },
    );
  }
  if (!head.equals(HDF5_SIGNATURE))
    throw new ArtstyleError(
      'corrupt-file',
      `${file} is not an HDF5 file (no HDF5 signature)`,
      file,
    );

  const h5 = await loadH5();
  let f: H5File;
  try {
    f = new h5.File(file, 'r');
  } catch (e) {
    throw new ArtstyleError(
      'corrupt-file',
      `${file}: HDF5 library cannot open it: ${String(e)}`,
      file,
      { cause: e },
    );
  }
  try {
    let root: H5Group = f;
    if (!('layer_names' in f.attrs)) {
      const mw = f.keys().includes('model_weights') ? f.get('model_weights') : null;
      if (!(mw instanceof h5.Group) || !('layer_names' in mw.attrs))
        throw new ArtstyleError(
          'corrupt-file',
          `${file} is not a Keras 2 weight file: no root attribute layer_names (nor a model_weights group with one)`,
          file,
        );
      root = mw;
    }
    const layerNames = stringList(root.attrs['layer_names']?.value, 'layer_names', file);
    const layers: KerasFileLayer[] = [];
    for (const name of layerNames) {
      const group = root.keys().includes(name) ? root.get(name) : null;
      if (!(group instanceof h5.Group))
        throw new ArtstyleError(
          'corrupt-file',
          `${file}: layer_names lists ${name} but there is no group ${name}`,
          file,
        );
      const weightNames =
        'weight_names' in group.attrs
          ? stringList(group.attrs['weight_names']?.value, `${name}/weight_names`, file)
          : [];
      if (weightNames.length === 0) continue;
      const weights = weightNames.map((wn) => {
        const ds = group.get(wn);
        if (!(ds instanceof h5.Dataset))
          throw new ArtstyleError(
            'corrupt-file',
            `${file}: weight ${name}/${wn} is listed but missing`,
            file,
          );
        const raw = ds.value;
        const shape = ds.shape ?? [];
        if (
          !(
            raw instanceof Float32Array ||
            raw instanceof Float64Array ||
            raw instanceof Uint16Array
          )
        )
          throw new ArtstyleError(
            'corrupt-file',
            `${file}: weight ${name}/${wn} is not a float array (dtype ${String(ds.dtype)})`,
            file,
          );
        const values = raw instanceof Float32Array ? raw : Float32Array.from(raw as Float64Array);
        return { name: wn, shape, values };
      });
      layers.push({ name, weights });
    }
    return layers;
  } finally {
    f.close();
  }
}

const shapes = (s: number[][]): string => s.map((x) => `[${x.join(', ')}]`).join(' ');

/**
 * Loads a Keras 2 HDF5 weight file (the ImageNet files Keras downloads,
 * `xception_weights_tf_dim_ordering_tf_kernels_notop.h5`,
 * `resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5`) into `model` as Keras's
 * `load_weights(by_name=False)` does: the layers that have weights are matched in order (names may
 * differ, the files predate today's default names) and every shape must agree. Nothing is
 * assigned unless the whole file fits. Load into the base before adding a head, or the layer
 * counts differ.
 */
export async function loadKerasWeights(
  model: tf.LayersModel,
  file: string,
): Promise<LoadKerasWeightsResult> {
  const fileLayers = await readKerasWeightFile(file);
  const modelLayers = model.layers.filter((l) => l.weights.length > 0);
  if (fileLayers.length !== modelLayers.length)
    throw new ArtstyleError(
      'weights-mismatch',
      `${file} has ${fileLayers.length} layers with weights but model ${model.name} has ${modelLayers.length}`,
      file,
    );
  fileLayers.forEach((fl, i) => {
    const ml = modelLayers[i] as tf.layers.Layer;
    const fileShapes = fl.weights.map((w) => w.shape);
    const modelShapes = ml.weights.map((w) => w.shape as number[]);
    const same =
      fileShapes.length === modelShapes.length &&
      fileShapes.every(
        (s, j) =>
          s.length === modelShapes[j]?.length && s.every((d, k) => d === modelShapes[j]?.[k]),
      );
    if (!same)
      throw new ArtstyleError(
        'weights-mismatch',
        `${file}: layer #${i + 1} with weights, "${fl.name}" in the file, has shapes ${shapes(fileShapes)} ` +
          `but model layer "${ml.name}" has ${shapes(modelShapes)}`,
        fl.name,
      );
  });
  let count = 0;
  fileLayers.forEach((fl, i) => {
    const ml = modelLayers[i] as tf.layers.Layer;
    const tensors = fl.weights.map((w) => tf.tensor(w.values, w.shape, 'float32'));
    ml.setWeights(tensors);
    tf.dispose(tensors);
    count += tensors.length;
  });
  return {
    layers: modelLayers.length,
    weights: count,
    renamed: fileLayers
      .map((fl, i) => [fl.name, (modelLayers[i] as tf.layers.Layer).name] as [string, string])
      .filter(([a, b]) => a !== b),
  };
}
