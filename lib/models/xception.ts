import * as tf from '@tensorflow/tfjs';
import { KerasBatchNormalization } from './batch-norm';
import { KernelSeeds } from './init';
import { checkInputSize, checkWidthMultiplier, scaleChannels } from './width';

export interface XceptionOptions {
  /** Height and width of the square RGB input; Keras's default 299, at least 71. */
  inputSize?: number;
  /** Scales every channel count (rounded to a multiple of 8); 1 is Keras's network. */
  widthMultiplier?: number;
  /** Model name; Keras's is `xception`. */
  name?: string;
  /** Seed of the kernel initialisers. */
  seed?: number;
}

/**
 * Xception without its top (Chollet 2017), layer for layer as `keras.applications.Xception(
 * include_top=False)` builds it: same topology, names, strides, paddings, biases (none) and
 * BatchNormalization epsilon (Keras's default 1e-3). The output is the 4D feature map of block 14.
 *
 * Keras leaves the four residual 1x1 convolutions, their batch norms and the twelve adds unnamed,
 * so a fresh Keras session calls them `conv2d`..`conv2d_3`, `batch_normalization`..`_3` and
 * `add`..`add_11`; they get exactly those names here, so that plots, weight files and
 * `xceptionBlockOf` line up. tfjs, like Keras 2, lists `model.layers` by depth and then by graph
 * traversal; with the adds' inputs in Keras's order ([main path, residual]) that is the order of
 * the layers in Keras's weight files, which `loadKerasWeights` relies on.
 */
export function buildXception(options: XceptionOptions = {}): tf.LayersModel {
  const inputSize = options.inputSize ?? 299;
  const widthMultiplier = options.widthMultiplier ?? 1;
  checkInputSize(inputSize, 71, 'Xception');
  checkWidthMultiplier(widthMultiplier);
  const seeds = new KernelSeeds(options.seed ?? 0, 'xception');
  const ch = (c: number): number => scaleChannels(c, widthMultiplier);
  let convIndex = 0;
  let bnIndex = 0;
  let addIndex = 0;
  const suffix = (i: number): string => (i === 0 ? '' : `_${i}`);

  const conv = (filters: number, strides: number, name: string) =>
    tf.layers.conv2d({
      filters: ch(filters),
      kernelSize: 3,
      strides,
      useBias: false,
      kernelInitializer: seeds.glorotUniform(),
      name,
    });
  const sepconv = (filters: number, name: string) =>
    tf.layers.separableConv2d({
      filters: ch(filters),
      kernelSize: 3,
      padding: 'same',
      useBias: false,
      depthwiseInitializer: seeds.glorotUniform(),
      pointwiseInitializer: seeds.glorotUniform(),
      name,
    });
  const bn = (name?: string) =>
    new KerasBatchNormalization({
      axis: -1,
      name: name ?? `batch_normalization${suffix(bnIndex++)}`,
    });
  const relu = (name: string) => tf.layers.activation({ activation: 'relu', name });
  const pool = (name: string) =>
    tf.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same', name });
  const add = (x: tf.SymbolicTensor, residual: tf.SymbolicTensor) =>
    tf.layers.add({ name: `add${suffix(addIndex++)}` }).apply([x, residual]) as tf.SymbolicTensor;
  /** The strided 1x1 convolution + batch norm that carries the input around a downsampling block. */
  const projection = (x: tf.SymbolicTensor, filters: number): tf.SymbolicTensor => {
    const c = tf.layers.conv2d({
      filters: ch(filters),
      kernelSize: 1,
      strides: 2,
      padding: 'same',
      useBias: false,
      kernelInitializer: seeds.glorotUniform(),
      name: `conv2d${suffix(convIndex++)}`,
    });
    return bn().apply(c.apply(x)) as tf.SymbolicTensor;
  };
  const apply = (x: tf.SymbolicTensor, ...layers: tf.layers.Layer[]): tf.SymbolicTensor =>
    layers.reduce((t, layer) => layer.apply(t) as tf.SymbolicTensor, x);

  const input = tf.input({ shape: [inputSize, inputSize, 3], name: 'input_layer' });

  // Entry flow.
  let x = apply(
    input,
    conv(32, 2, 'block1_conv1'),
    bn('block1_conv1_bn'),
    relu('block1_conv1_act'),
    conv(64, 1, 'block1_conv2'),
    bn('block1_conv2_bn'),
    relu('block1_conv2_act'),
  );

  let residual = projection(x, 128);
  x = apply(
    x,
    sepconv(128, 'block2_sepconv1'),
    bn('block2_sepconv1_bn'),
    relu('block2_sepconv2_act'),
    sepconv(128, 'block2_sepconv2'),
    bn('block2_sepconv2_bn'),
    pool('block2_pool'),
  );
  x = add(x, residual);

  for (const [block, filters] of [
    [3, 256],
    [4, 728],
  ] as const) {
    residual = projection(x, filters);
    x = apply(
      x,
      relu(`block${block}_sepconv1_act`),
      sepconv(filters, `block${block}_sepconv1`),
      bn(`block${block}_sepconv1_bn`),
      relu(`block${block}_sepconv2_act`),
      sepconv(filters, `block${block}_sepconv2`),
      bn(`block${block}_sepconv2_bn`),
      pool(`block${block}_pool`),
    );
    x = add(x, residual);
  }

  // Middle flow: eight identity-shortcut blocks of three separable convolutions.
  for (let block = 5; block <= 12; block++) {
    residual = x;
    const p = `block${block}`;
    x = apply(
      x,
      relu(`${p}_sepconv1_act`),
      sepconv(728, `${p}_sepconv1`),
      bn(`${p}_sepconv1_bn`),
      relu(`${p}_sepconv2_act`),
      sepconv(728, `${p}_sepconv2`),
      bn(`${p}_sepconv2_bn`),
      relu(`${p}_sepconv3_act`),
      sepconv(728, `${p}_sepconv3`),
      bn(`${p}_sepconv3_bn`),
    );
    x = add(x, residual);
  }

  // Exit flow.
  residual = projection(x, 1024);
  x = apply(
    x,
    relu('block13_sepconv1_act'),
    sepconv(728, 'block13_sepconv1'),
    bn('block13_sepconv1_bn'),
    relu('block13_sepconv2_act'),
    sepconv(1024, 'block13_sepconv2'),
    bn('block13_sepconv2_bn'),
    pool('block13_pool'),
  );
  x = add(x, residual);

  x = apply(
    x,
    sepconv(1536, 'block14_sepconv1'),
    bn('block14_sepconv1_bn'),
    relu('block14_sepconv1_act'),
    sepconv(2048, 'block14_sepconv2'),
    bn('block14_sepconv2_bn'),
    relu('block14_sepconv2_act'),
  );

  return tf.model({ inputs: input, outputs: x, name: options.name ?? 'xception' });
}
