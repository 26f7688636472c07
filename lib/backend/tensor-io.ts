import * as tf from '@tensorflow/tfjs';

/**
 * Copies a float32 tensor's values into `dest` at `offset` without the intermediate array that
 * `dataSync()` allocates: on the wasm backend straight from the heap, on the cpu backend from its
 * own array, elsewhere through `dataSync()`. The parallel training step moves a model's weights and
 * gradients (megabytes per step) this way, so that the copies do not feed the garbage collector.
 */
export function readInto(t: tf.Tensor, dest: Float32Array, offset = 0): void {
  const backend = tf.engine().backend as unknown as {
    typedArrayFromHeap?(info: tf.TensorInfo): unknown;
  };
  const name = tf.getBackend();
  if (t.dtype === 'float32' && name === 'wasm' && backend.typedArrayFromHeap) {
    dest.set(backend.typedArrayFromHeap(t) as Float32Array, offset);
    return;
  }
  const values = name === 'cpu' ? cpuValues(backend, t) : undefined;
  if (t.dtype === 'float32' && values instanceof Float32Array && values.length === t.size) {
    dest.set(values, offset);
    return;
  }
  dest.set(t.dataSync() as Float32Array, offset);
}

/** A copy of a float32 tensor's values in an array of its own (one copy, as readInto makes it). */
export function copyValues(t: tf.Tensor): Float32Array {
  const out = new Float32Array(t.size);
  readInto(t, out);
  return out;
}

/** The part of tfjs's cpu backend its kernels use: tensors' own arrays and new outputs. */
export interface CpuBackendLike {
  data: { get(dataId: object): { values?: unknown } | undefined };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array): tf.TensorInfo;
}

/** A tensor's own array on the cpu backend (no copy; read it, never write it). */
export function cpuValues(backend: unknown, t: tf.TensorInfo): Float32Array {
  return (backend as CpuBackendLike).data.get(t.dataId)?.values as Float32Array;
}

/**
 * A tensor of `values` (a view into a buffer that will be written again): on the wasm backend the
 * values are copied onto its heap at creation, so the view itself is enough; every other backend
 * may keep the array it is given, so it gets a copy.
 */
export function tensorFromView(values: Float32Array, shape: number[]): tf.Tensor {
  return tf.tensor(tf.getBackend() === 'wasm' ? values : values.slice(), shape, 'float32');
}
