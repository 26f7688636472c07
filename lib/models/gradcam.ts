import * as tf from '@tensorflow/tfjs';
import { ArtstyleError, check } from '../util/errors';

/**
 * Grad-CAM (Selvaraju et al. 2017): where in the image a convolutional classifier found the
 * evidence for a class. For a convolutional layer's activations A (h x w x C) and the class score
 * y_c (the pre-softmax logit), each channel's weight is its spatially pooled gradient
 * a_k = mean_ij dy_c / dA_ijk, and the map is ReLU(sum_k a_k A_k), scaled to [0, 1].
 *
 * Only the part of the network after the chosen layer is differentiated, eagerly (no symbolic
 * nodes are added to the model, so it still saves and exports unchanged afterwards). For the
 * study's Xception and its head that part is GlobalAveragePooling -> Dense -> Dropout -> Dense, so
 * the gradients need only kernels every backend has, the wasm one included.
 */

/** The study's Xception: the last convolutional block's output (block 14's second separable conv, after its ReLU). */
export const XCEPTION_GRADCAM_LAYER = 'block14_sepconv2_act';

export interface GradCamOptions {
  /** The convolutional layer whose activations are weighted; default XCEPTION_GRADCAM_LAYER if the model has it, else the last layer with a 4D output. */
  layerName?: string;
  /** The class to explain, per image; default each image's predicted class. */
  classIndices?: number[];
}

export interface GradCamResult {
  /** One map per image, row-major at the layer's resolution, values in [0, 1]. */
  maps: Float32Array[];
  /** The layer's spatial size. */
  height: number;
  width: number;
  layerName: string;
  classIndices: number[];
  /** Row-major [n, numClasses] class probabilities of the model for the same images. */
  probs: Float32Array;
}

function defaultLayer(model: tf.LayersModel): string {
  if (model.layers.some((l) => l.name === XCEPTION_GRADCAM_LAYER)) return XCEPTION_GRADCAM_LAYER;
  const conv = model.layers.filter((l) => {
    const shape = l.outputShape;
    return (
      l.getClassName() !== 'InputLayer' &&
      Array.isArray(shape) &&
      shape.length === 4 &&
      !Array.isArray(shape[0])
    );
  });
  const last = conv.at(-1);
  if (!last)
    throw new ArtstyleError(
      'invalid-argument',
      `model ${model.name} has no layer with a 4D (image-like) output to explain`,
      'model',
    );
  return last.name;
}

/**
 * The layers after `layerName`, which must form a chain (each takes exactly the previous one's
 * output), as the classifier's head does.
 */
function tailOf(model: tf.LayersModel, layerName: string): tf.layers.Layer[] {
  const index = model.layers.findIndex((l) => l.name === layerName);
  if (index < 0)
    throw new ArtstyleError(
      'invalid-argument',
      `layerName: model ${model.name} has no layer ${JSON.stringify(layerName)}`,
      'layerName',
    );
  const tail = model.layers.slice(index + 1);
  let previous = layerName;
  for (const layer of tail) {
    const inbound = (layer as unknown as { inboundNodes: { inboundLayers: tf.layers.Layer[] }[] })
      .inboundNodes;
    const from = inbound.flatMap((n) => n.inboundLayers.map((l) => l.name));
    if (from.length !== 1 || from[0] !== previous)
      throw new ArtstyleError(
        'invalid-argument',
        `layerName: the layers after ${layerName} must form a chain for Grad-CAM, but ${layer.name} takes ${from.join(', ') || 'nothing'}`,
        'layerName',
      );
    previous = layer.name;
  }
  const outName = (model.outputs[0] as tf.SymbolicTensor).sourceLayer.name;
  if (previous !== outName)
    throw new ArtstyleError(
      'invalid-argument',
      `layerName: the chain after ${layerName} ends at ${previous}, not at the model's output ${outName}`,
      'layerName',
    );
  return tail;
}

interface DenseLike {
  kernel: { read(): tf.Tensor };
  bias?: { read(): tf.Tensor } | null;
  activation: { getClassName(): string };
  useBias: boolean;
}

/** The class scores before the softmax: a final Dense with softmax is applied without it. */
function applyTail(tail: tf.layers.Layer[], a: tf.Tensor): { logits: tf.Tensor; probs: tf.Tensor } {
  let x = a;
  for (const layer of tail.slice(0, -1)) x = layer.apply(x) as tf.Tensor;
  const last = tail.at(-1);
  if (!last) return { logits: x, probs: x };
  const dense = last as unknown as DenseLike;
  if (last.getClassName() === 'Dense' && dense.activation.getClassName() === 'softmax') {
    let logits = tf.matMul(x as tf.Tensor2D, dense.kernel.read() as tf.Tensor2D);
    if (dense.useBias && dense.bias) logits = logits.add(dense.bias.read());
    return { logits, probs: tf.softmax(logits) };
  }
  const out = last.apply(x) as tf.Tensor;
  return { logits: out, probs: out };
}

/**
 * Grad-CAM maps of a batch `x` (already preprocessed as the model expects). Works on every
 * backend that can take the gradients of the layers after `layerName`.
 */
export function gradCam(
  model: tf.LayersModel,
  x: tf.Tensor4D,
  options: GradCamOptions = {},
): GradCamResult {
  check(
    x.rank === 4,
    'x',
    `expected a batch of images [n, height, width, channels], got [${x.shape.join(', ')}]`,
  );
  const layerName = options.layerName ?? defaultLayer(model);
  const tail = tailOf(model, layerName);
  const layer = model.getLayer(layerName);
  const features = tf.model({ inputs: model.inputs, outputs: layer.output as tf.SymbolicTensor });
  const n = x.shape[0];
  let chosen: number[] = [];
  const [mapsTensor, probsTensor] = tf.tidy(() => {
    const a = features.predict(x) as tf.Tensor4D;
    check(
      a.rank === 4,
      'layerName',
      `${layerName} has output shape [${a.shape.join(', ')}], not a 4D feature map`,
    );
    const { probs } = applyTail(tail, a);
    const k = probs.shape[1] ?? 1;
    const classes: number[] =
      options.classIndices ?? Array.from(tf.argMax(probs, 1).dataSync() as Int32Array);
    check(
      classes.length === n && classes.every((c) => Number.isInteger(c) && c >= 0 && c < k),
      'classIndices',
      `expected ${n} class indices in 0..${k - 1}, got [${classes.join(', ')}]`,
    );
    const mask = tf.oneHot(tf.tensor1d(classes, 'int32'), k);
    // The images are independent, so the gradient of the sum of their scores is each image's own.
    const grads = tf.grad((act: tf.Tensor) => applyTail(tail, act).logits.mul(mask).sum())(a);
    const weights = grads.mean([1, 2], true); // [n, 1, 1, C]
    const cam = tf.relu(a.mul(weights).sum(3)); // [n, h, w]
    const peak = cam.max([1, 2], true);
    const scaled = cam.div(tf.maximum(peak, 1e-12));
    chosen = classes;
    return [scaled, probs];
  });
  const [, h, w] = mapsTensor.shape as [number, number, number];
  const flat = mapsTensor.dataSync() as Float32Array;
  const probs = Float32Array.from(probsTensor.dataSync());
  mapsTensor.dispose();
  probsTensor.dispose();
  const maps = Array.from({ length: n }, (_, i) => flat.slice(i * h * w, (i + 1) * h * w));
  return { maps, height: h, width: w, layerName, classIndices: [...chosen], probs };
}

/** A map up-sampled bilinearly (corners aligned to pixel centres) to size x size. */
export function upsampleMap(
  map: Float32Array,
  height: number,
  width: number,
  size: number,
): Float32Array {
  check(
    map.length === height * width,
    'map',
    `expected ${height * width} values for ${height}x${width}, got ${map.length}`,
  );
  return tf.tidy(() => {
    const t = tf.tensor4d(map, [1, height, width, 1]);
    const up = tf.image.resizeBilinear(t, [size, size], false, true);
    return Float32Array.from(up.dataSync());
  });
}
