import * as tf from '@tensorflow/tfjs';
import { KerasBatchNormalization } from './batch-norm';
import { KernelSeeds } from './init';
import { checkInputSize, checkWidthMultiplier, scaleChannels } from './width';

export interface ResNet50Options {
  /** Height and width of the square RGB input; Keras's default 224, at least 32. */
  inputSize?: number;
  /** Scales every channel count (rounded to a multiple of 8); 1 is Keras's network. */
  widthMultiplier?: number;
  /** Model name; Keras's is `resnet50`. */
  name?: string;
  /** Seed of the kernel initialisers. */
  seed?: number;
}

/** Keras's ResNet batch norms use 1.001e-5, not the 1e-3 default. */
const RESNET_BN_EPSILON = 1.001e-5;

/**
 * ResNet50 (He et al. 2016, v1) without its top, layer for layer as `keras.applications.ResNet50(
 * include_top=False)` builds it: convolutions with biases, stride on the first 1x1 convolution of
 * a stage, names `conv{stage}_block{i}_{0..3}_{conv,bn}`, `_add`, `_out`. The output is the 4D
 * feature map of stage 5. The adds take [shortcut, main path] as in Keras, which puts each
 * `_0_conv` after `_2_relu` in `model.layers`, as in Keras's weight file.
 */
export function buildResNet50(options: ResNet50Options = {}): tf.LayersModel {
  const inputSize = options.inputSize ?? 224;
  const widthMultiplier = options.widthMultiplier ?? 1;
  checkInputSize(inputSize, 32, 'ResNet50');
  checkWidthMultiplier(widthMultiplier);
  const seeds = new KernelSeeds(options.seed ?? 0, 'resnet50');
  const ch = (c: number): number => scaleChannels(c, widthMultiplier);

  const conv = (
    filters: number,
    kernelSize: number,
    strides: number,
    name: string,
    padding: 'valid' | 'same' = 'valid',
  ) =>
    tf.layers.conv2d({
      filters: ch(filters),
      kernelSize,
      strides,
      padding,
      kernelInitializer: seeds.glorotUniform(),
      name,
    });
  const bn = (name: string) =>
    new KerasBatchNormalization({ axis: -1, epsilon: RESNET_BN_EPSILON, name });
  const relu = (name: string) => tf.layers.activation({ activation: 'relu', name });
  const apply = (x: tf.SymbolicTensor, ...layers: tf.layers.Layer[]): tf.SymbolicTensor =>
    layers.reduce((t, layer) => layer.apply(t) as tf.SymbolicTensor, x);

  /** Bottleneck block: 1x1 (strided) -> 3x3 -> 1x1 (4x filters), plus a shortcut. */
  const block = (
    x: tf.SymbolicTensor,
    filters: number,
    stride: number,
    convShortcut: boolean,
    name: string,
  ): tf.SymbolicTensor => {
    const shortcut = convShortcut
      ? apply(x, conv(4 * filters, 1, stride, `${name}_0_conv`), bn(`${name}_0_bn`))
      : x;
    const y = apply(
      x,
      conv(filters, 1, stride, `${name}_1_conv`),
      bn(`${name}_1_bn`),
      relu(`${name}_1_relu`),
      conv(filters, 3, 1, `${name}_2_conv`, 'same'),
      bn(`${name}_2_bn`),
      relu(`${name}_2_relu`),
      conv(4 * filters, 1, 1, `${name}_3_conv`),
      bn(`${name}_3_bn`),
    );
    const sum = tf.layers.add({ name: `${name}_add` }).apply([shortcut, y]) as tf.SymbolicTensor;
    return relu(`${name}_out`).apply(sum) as tf.SymbolicTensor;
  };
  /** A stage: one projection block (stride `stride1`), then identity blocks. */
  const stage = (
    x: tf.SymbolicTensor,
    filters: number,
    blocks: number,
    stride1: number,
    name: string,
  ) => {
    x = block(x, filters, stride1, true, `${name}_block1`);
    for (let i = 2; i <= blocks; i++) x = block(x, filters, 1, false, `${name}_block${i}`);
    return x;
  };

  const input = tf.input({ shape: [inputSize, inputSize, 3], name: 'input_layer' });
  let x = apply(
    input,
    tf.layers.zeroPadding2d({
      padding: [
        [3, 3],
        [3, 3],
      ],
      name: 'conv1_pad',
    }),
    conv(64, 7, 2, 'conv1_conv'),
    bn('conv1_bn'),
    relu('conv1_relu'),
    tf.layers.zeroPadding2d({
      padding: [
        [1, 1],
        [1, 1],
      ],
      name: 'pool1_pad',
    }),
    tf.layers.maxPooling2d({ poolSize: 3, strides: 2, name: 'pool1_pool' }),
  );
  x = stage(x, 64, 3, 1, 'conv2');
  x = stage(x, 128, 4, 2, 'conv3');
  x = stage(x, 256, 6, 2, 'conv4');
  x = stage(x, 512, 3, 2, 'conv5');

  return tf.model({ inputs: input, outputs: x, name: options.name ?? 'resnet50' });
}
