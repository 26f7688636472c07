/**
 * Batch normalization in training mode as one op with its own kernels and gradient, for the wasm
 * backend (WebAssembly SIMD, lib/backend/train-kernels.ts) and the cpu backend (JavaScript).
 *
 * tfjs composes a training-mode batch norm from `moments` and `batchNorm`, and its gradient from
 * the gradients of those: about 25 kernel calls forward and 50 backward per layer, most of them
 * full-size elementwise passes (Sub, Square, Multiply, Tile, Cast copies) and each with tfjs's
 * per-call overhead. Measured on the teaching network (bench/train.ts --profile), that was about
 * half of a training step's kernel calls. Here the forward pass is three passes over the data
 * (the mean, the variance, the output) and the backward pass two (two per-channel sums, then dx):
 *
 *   mean = sum_r x / R,  variance = sum_r (x - mean)^2 / R  (biased, as tf.moments),
 *   invstd = 1 / sqrt(variance + epsilon),  y = (x - mean) * (scale * invstd) + offset;
 *   sdy = sum_r dy,  sdx = sum_r dy * (x - mean),
 *   dx = dy * a + (x - mean) * k + b  with  a = scale * invstd,  k = -a * invstd^2 * sdx / R,
 *        b = -a * sdy / R  (plus dMean / R and 2 dVariance (x - mean) / R where the statistics
 *        themselves get a gradient),  dscale = sdx * invstd,  doffset = sdy,
 *
 * over the [R, C] view of x (channels last, R the product of the other axes). The per-channel
 * values are computed once in JavaScript, in float32. The results equal tfjs's composition up to
 * float32 summation order (tested against it on the cpu backend).
 */
import * as tf from '@tensorflow/tfjs';
import { address, heapF32, kernels, type WasmHeapBackend } from './train-kernels';
import { wasmKernelSet } from './kernel-set';
import { cpuValues, type CpuBackendLike } from './tensor-io';

export const BATCH_NORM_TRAINING = 'ArtstyleBatchNormTraining';
export const BATCH_NORM_GRAD_SUMS = 'ArtstyleBatchNormGradSums';
export const BATCH_NORM_GRAD_INPUT = 'ArtstyleBatchNormGradInput';

type Info = tf.TensorInfo;
const f32 = Math.fround;

let enabled = true;

/**
 * Turns the fused op off (false) so that the BN layers fall back to tfjs's composition, for
 * comparisons; on by default. On wasm it also follows the kernel set: 'composed' turns it off.
 */
export function setFusedBatchNorm(on: boolean): void {
  enabled = on;
}

/** True where a training-mode batch norm runs as this op on `backend` (default: the current). */
export function fusedBatchNormAvailable(backend: string = tf.getBackend()): boolean {
  if (!enabled || (backend !== 'wasm' && backend !== 'cpu')) return false;
  return backend !== 'wasm' || wasmKernelSet() === 'simd';
}

/**
 * y, the batch mean and the batch (biased) variance of x over every axis but the last; `scale`
 * and `offset` have the last axis' length.
 */
export function batchNormTraining(
  x: tf.Tensor,
  scale: tf.Tensor,
  offset: tf.Tensor,
  varianceEpsilon: number,
): [tf.Tensor, tf.Tensor1D, tf.Tensor1D] {
  const channels = x.shape[x.rank - 1];
  for (const [name, t] of [
    ['scale', scale],
    ['offset', offset],
  ] as const) {
    if (t.size !== channels || t.rank !== 1)
      throw new Error(
        `batchNormTraining: ${name} must have shape [${channels}] (x's last axis), got [${t.shape}]`,
      );
  }
  if (x.dtype !== 'float32' || x.rank < 2)
    throw new Error(
      `batchNormTraining: x must be float32 of rank >= 2, got ${x.dtype} [${x.shape}]`,
    );
  return tf.engine().runKernel(BATCH_NORM_TRAINING, { x, scale, offset }, { varianceEpsilon }) as [
    tf.Tensor,
    tf.Tensor1D,
    tf.Tensor1D,
  ];
}

// ---------------------------------------------------------------------------------------------
// The arithmetic, on plain arrays: the cpu kernels, and the wasm kernels' fallback where the
// channels are not a multiple of 4 (the SIMD lane width) or SIMD is not available.

function statisticsJs(
  x: Float32Array,
  rows: number,
  cols: number,
  mean: Float32Array,
  variance: Float32Array,
): void {
  const s = new Float64Array(cols);
  for (let r = 0, p = 0; r < rows; r++) for (let c = 0; c < cols; c++, p++) s[c] += x[p]!;
  for (let c = 0; c < cols; c++) mean[c] = s[c]! / rows;
  s.fill(0);
  for (let r = 0, p = 0; r < rows; r++)
    for (let c = 0; c < cols; c++, p++) {
      const d = f32(x[p]! - mean[c]!);
      s[c] += d * d;
    }
  for (let c = 0; c < cols; c++) variance[c] = s[c]! / rows;
}

/** y = (x - mean) * scale + offset, every operation rounded to float32 as the SIMD kernel does. */
function applyJs(
  x: Float32Array,
  mean: Float32Array,
  scale: Float32Array,
  offset: Float32Array,
  y: Float32Array,
  cols: number,
): void {
  for (let p = 0; p < x.length; p += cols)
    for (let c = 0; c < cols; c++)
      y[p + c] = f32(f32(x[p + c]! - mean[c]!) * scale[c]!) + offset[c]!;
}

function gradSumsJs(
  dy: Float32Array,
  x: Float32Array,
  mean: Float32Array,
  out: Float32Array,
  cols: number,
): void {
  const sdy = new Float64Array(cols);
  const sdx = new Float64Array(cols);
  for (let p = 0; p < x.length; p += cols)
    for (let c = 0; c < cols; c++) {
      const g = dy[p + c]!;
      sdy[c] += g;
      sdx[c] += g * f32(x[p + c]! - mean[c]!);
    }
  out.set(sdy, 0);
  out.set(sdx, cols);
}

/** dx = dy * a + (x - mean) * k + b, coef = [a; k; b], rounded as the SIMD kernel rounds. */
function gradInputJs(
  dy: Float32Array,
  x: Float32Array,
  mean: Float32Array,
  coef: Float32Array,
  dx: Float32Array,
  cols: number,
): void {
  for (let p = 0; p < x.length; p += cols)
    for (let c = 0; c < cols; c++) {
      const t = f32(f32(dy[p + c]! * coef[c]!) + f32(f32(x[p + c]! - mean[c]!) * coef[cols + c]!));
      dx[p + c] = t + coef[2 * cols + c]!;
    }
}

/** scale * invstd per channel, float32; invstd = 1 / sqrt(variance + epsilon). */
function invStd(variance: Float32Array, epsilon: number): Float32Array {
  return variance.map((v) => 1 / Math.sqrt(f32(v + epsilon)));
}

function shapeOf(x: Info): { rows: number; cols: number } {
  const cols = x.shape[x.shape.length - 1]!;
  return { rows: x.shape.reduce((a, b) => a * b, 1) / cols, cols };
}

// ---------------------------------------------------------------------------------------------
// cpu kernels

function trainingCpu(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: object }) {
  const { x, scale, offset } = args.inputs as { x: Info; scale: Info; offset: Info };
  const backend = args.backend as CpuBackendLike;
  const { varianceEpsilon } = args.attrs as { varianceEpsilon: number };
  const { rows, cols } = shapeOf(x);
  const xs = cpuValues(backend, x);
  const mean = new Float32Array(cols);
  const variance = new Float32Array(cols);
  statisticsJs(xs, rows, cols, mean, variance);
  const gamma = cpuValues(backend, scale);
  const k = invStd(variance, varianceEpsilon).map((v, c) => v * gamma[c]!);
  const y = new Float32Array(xs.length);
  applyJs(xs, mean, k, cpuValues(backend, offset), y, cols);
  return [
    backend.makeTensorInfo(x.shape, 'float32', y),
    backend.makeTensorInfo([cols], 'float32', mean),
    backend.makeTensorInfo([cols], 'float32', variance),
  ];
}

function gradSumsCpu(args: { inputs: tf.NamedTensorInfoMap; backend: unknown }): Info {
  const { dy, x, mean } = args.inputs as { dy: Info; x: Info; mean: Info };
  const backend = args.backend as CpuBackendLike;
  const { cols } = shapeOf(x);
  const out = new Float32Array(2 * cols);
  gradSumsJs(cpuValues(backend, dy), cpuValues(backend, x), cpuValues(backend, mean), out, cols);
  return backend.makeTensorInfo([2, cols], 'float32', out);
}

function gradInputCpu(args: { inputs: tf.NamedTensorInfoMap; backend: unknown }): Info {
  const { dy, x, mean, coef } = args.inputs as { dy: Info; x: Info; mean: Info; coef: Info };
  const backend = args.backend as CpuBackendLike;
  const { cols } = shapeOf(x);
  const xs = cpuValues(backend, x);
  const dx = new Float32Array(xs.length);
  gradInputJs(
    cpuValues(backend, dy),
    xs,
    cpuValues(backend, mean),
    cpuValues(backend, coef),
    dx,
    cols,
  );
  return backend.makeTensorInfo(x.shape, 'float32', dx);
}

// ---------------------------------------------------------------------------------------------
// wasm kernels: SIMD on the heap in place where the channels are a multiple of 4.

function simd(backend: WasmHeapBackend, cols: number) {
  return cols % 4 === 0 ? kernels(backend) : null;
}

function trainingWasm(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: object }) {
  const { x, scale, offset } = args.inputs as { x: Info; scale: Info; offset: Info };
  const backend = args.backend as WasmHeapBackend;
  const { varianceEpsilon } = args.attrs as { varianceEpsilon: number };
  const { rows, cols } = shapeOf(x);
  const y = backend.makeOutput(x.shape, 'float32');
  const mean = backend.makeOutput([cols], 'float32');
  const variance = backend.makeOutput([cols], 'float32');
  const k = backend.makeOutput([cols], 'float32');
  try {
    const ex = simd(backend, cols);
    // Views only after the last allocation (which may grow, and so detach, the heap).
    const mv = heapF32(backend, mean);
    const vv = heapF32(backend, variance);
    if (ex) {
      mv.fill(0);
      vv.fill(0);
      ex.colsum(address(backend, x), address(backend, mean), rows, cols);
      for (let c = 0; c < cols; c++) mv[c] = mv[c]! / rows;
      ex.colsqdev(
        address(backend, x),
        address(backend, mean),
        address(backend, variance),
        rows,
        cols,
      );
      for (let c = 0; c < cols; c++) vv[c] = vv[c]! / rows;
    } else statisticsJs(heapF32(backend, x), rows, cols, mv, vv);
    const gamma = heapF32(backend, scale);
    heapF32(backend, k).set(invStd(vv, varianceEpsilon).map((v, c) => v * gamma[c]!));
    if (ex)
      ex.bnapply(
        address(backend, x),
        address(backend, mean),
        address(backend, k),
        address(backend, offset),
        address(backend, y),
        rows,
        cols,
      );
    else
      applyJs(
        heapF32(backend, x),
        mv,
        heapF32(backend, k),
        heapF32(backend, offset),
        heapF32(backend, y),
        cols,
      );
  } finally {
    backend.disposeData(k.dataId);
  }
  return [y, mean, variance];
}

function gradSumsWasm(args: { inputs: tf.NamedTensorInfoMap; backend: unknown }): Info {
  const { dy, x, mean } = args.inputs as { dy: Info; x: Info; mean: Info };
  const backend = args.backend as WasmHeapBackend;
  const { rows, cols } = shapeOf(x);
  const out = backend.makeOutput([2, cols], 'float32');
  const ex = simd(backend, cols);
  if (ex) {
    heapF32(backend, out).fill(0);
    const at = (t: Info) => address(backend, t);
    ex.bngradsums(at(dy), at(x), at(mean), at(out), rows, cols);
  } else {
    const h = (t: Info) => heapF32(backend, t);
    gradSumsJs(h(dy), h(x), h(mean), h(out), cols);
  }
  return out;
}

function gradInputWasm(args: { inputs: tf.NamedTensorInfoMap; backend: unknown }): Info {
  const { dy, x, mean, coef } = args.inputs as { dy: Info; x: Info; mean: Info; coef: Info };
  const backend = args.backend as WasmHeapBackend;
  const { rows, cols } = shapeOf(x);
  const dx = backend.makeOutput(x.shape, 'float32');
  const ex = simd(backend, cols);
  if (ex) {
    const at = (t: Info) => address(backend, t);
    ex.bngradinput(at(dy), at(x), at(mean), at(coef), at(dx), rows, cols);
  } else {
    const h = (t: Info) => heapF32(backend, t);
    gradInputJs(h(dy), h(x), h(mean), h(coef), h(dx), cols);
  }
  return dx;
}

// ---------------------------------------------------------------------------------------------
// The gradient, in terms of the two kernels above (any backend that has them).

function gradient(
  dys: tf.Tensor | tf.Tensor[],
  saved: tf.Tensor[],
  attrs: tf.NamedAttrMap,
): Record<string, () => tf.Tensor> {
  const [dyIn, dMean, dVariance] = dys as Array<tf.Tensor | null>;
  const [x, scale, mean, variance] = saved as [tf.Tensor, tf.Tensor, tf.Tensor1D, tf.Tensor1D];
  const { varianceEpsilon } = attrs as unknown as { varianceEpsilon: number };
  const cols = x.shape[x.rank - 1]!;
  const rows = x.size / cols;
  // The per-channel sums are one pass over dy and x, shared by the three gradients (kept as plain
  // arrays, so that no tensor outlives the gradient whichever of them the tape asks for).
  let sums: { sdy: Float32Array; sdx: Float32Array } | null = null;
  const getSums = () => {
    if (sums) return sums;
    if (!dyIn) return (sums = { sdy: new Float32Array(cols), sdx: new Float32Array(cols) });
    const t = tf.engine().runKernel(BATCH_NORM_GRAD_SUMS, { dy: dyIn, x, mean }, {}) as tf.Tensor;
    const v = t.dataSync() as Float32Array;
    sums = { sdy: v.slice(0, cols), sdx: v.slice(cols, 2 * cols) };
    t.dispose();
    return sums;
  };
  const invstd = () => invStd(variance.dataSync() as Float32Array, varianceEpsilon);
  return {
    x: () => {
      const { sdy, sdx } = getSums();
      const inv = invstd();
      const gamma = scale.dataSync() as Float32Array;
      const dm = dMean ? (dMean.dataSync() as Float32Array) : null;
      const dv = dVariance ? (dVariance.dataSync() as Float32Array) : null;
      const coef = new Float32Array(3 * cols);
      for (let c = 0; c < cols; c++) {
        const a = f32(gamma[c]! * inv[c]!);
        coef[c] = a;
        coef[cols + c] = (-a * inv[c]! * inv[c]! * sdx[c]! + 2 * (dv?.[c] ?? 0)) / rows;
        coef[2 * cols + c] = (-a * sdy[c]! + (dm?.[c] ?? 0)) / rows;
      }
      const dy = dyIn ?? tf.zerosLike(x);
      const coefT = tf.tensor2d(coef, [3, cols]);
      return tf
        .engine()
        .runKernel(BATCH_NORM_GRAD_INPUT, { dy, x, mean, coef: coefT }, {}) as tf.Tensor;
    },
    scale: () => {
      const { sdx } = getSums();
      const inv = invstd();
      return tf.tensor(
        sdx.map((s, c) => s * inv[c]!),
        scale.shape,
      );
    },
    offset: () => tf.tensor(getSums().sdy, scale.shape),
  };
}

let registered = false;

/** Registers the op's kernels (wasm and cpu) and its gradient; idempotent. */
export function registerBatchNormKernels(): void {
  if (registered) return;
  registered = true;
  const kernelsByBackend: Array<[string, string, tf.KernelFunc]> = [
    ['cpu', BATCH_NORM_TRAINING, trainingCpu as unknown as tf.KernelFunc],
    ['cpu', BATCH_NORM_GRAD_SUMS, gradSumsCpu as tf.KernelFunc],
    ['cpu', BATCH_NORM_GRAD_INPUT, gradInputCpu as tf.KernelFunc],
    ['wasm', BATCH_NORM_TRAINING, trainingWasm as unknown as tf.KernelFunc],
    ['wasm', BATCH_NORM_GRAD_SUMS, gradSumsWasm as tf.KernelFunc],
    ['wasm', BATCH_NORM_GRAD_INPUT, gradInputWasm as tf.KernelFunc],
  ];
  for (const [backendName, kernelName, kernelFunc] of kernelsByBackend)
    if (!tf.getKernel(kernelName, backendName))
      tf.registerKernel({ kernelName, backendName, kernelFunc });
  if (!tf.getGradient(BATCH_NORM_TRAINING))
    tf.registerGradient({
      kernelName: BATCH_NORM_TRAINING,
      inputsToSave: ['x', 'scale'],
      outputsToSave: [false, true, true],
      gradFunc: gradient,
    });
}

registerBatchNormKernels();
