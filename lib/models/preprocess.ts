import * as tf from '@tensorflow/tfjs';
import { check } from '../util/errors';

export type BackboneKind = 'xception' | 'resnet50';

/** ImageNet channel means in BGR order, as Keras's "caffe" mode subtracts them. */
const CAFFE_BGR_MEANS = [103.939, 116.779, 123.68];

/**
 * The input scaling each ImageNet network was trained with, as Keras's `preprocess_input`:
 * Xception ("tf" mode) maps 0..255 to [-1, 1]; ResNet50 ("caffe" mode) reorders RGB to BGR and
 * subtracts the ImageNet means, without scaling. `x` is a batch of RGB images with values 0..255.
 */
export function preprocessInput(kind: BackboneKind, x: tf.Tensor4D): tf.Tensor4D {
  check(
    x.rank === 4 && x.shape[3] === 3,
    'x',
    `expected RGB images of shape [batch, height, width, 3], got [${x.shape.join(', ')}]`,
  );
  return tf.tidy(() => {
    const f = x.toFloat();
    if (kind === 'xception') return f.div(127.5).sub(1) as tf.Tensor4D;
    if (kind === 'resnet50') {
      const bgr = f.reverse(3);
      return bgr.sub(tf.tensor1d(CAFFE_BGR_MEANS)) as tf.Tensor4D;
    }
    check(false, 'kind', `expected 'xception' or 'resnet50', got ${JSON.stringify(kind)}`);
  });
}
