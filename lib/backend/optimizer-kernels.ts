/**
 * The updates of SGD with momentum and of RMSprop as one kernel per variable, for the wasm backend
 * (WebAssembly SIMD, scripts/train-kernels-wat.ts) and the cpu backend (JavaScript).
 *
 * tfjs's MomentumOptimizer spends four kernel calls and a tidy per variable and step, RMSprop
 * eight; over the ~240 variables of Xception that was about 1,000 small calls per step, most of
 * their cost tfjs's per-call overhead. These kernels make the same float32 operations in the same
 * order, each rounded to float32, so the weights they give are tfjs's bit for bit (tested against
 * tf.train.momentum and tf.train.rmsprop on both backends):
 *
 *   momentum: acc' = m * acc + g;  value' = c * acc' + value   with c = -learning rate
 *   rmsprop:  ms' = ms * rho + g^2 * (1 - rho);
 *             mom' = mom * momentum + (g * lr) / sqrt(ms' + eps);  value' = value - mom'
 *
 * The scalars are float32, as tfjs makes them from the JavaScript numbers.
 */
import * as tf from '@tensorflow/tfjs';
import { wasmKernelSet } from './kernel-set';
import { cpuValues, type CpuBackendLike } from './tensor-io';
import { address, heapF32, kernels, type WasmHeapBackend } from './train-kernels';

export const MOMENTUM_UPDATE = 'ArtstyleMomentumUpdate';
export const RMSPROP_UPDATE = 'ArtstyleRmspropUpdate';

type Info = tf.TensorInfo;
const f32 = Math.fround;

export interface MomentumAttrs {
  /** The momentum. */
  m: number;
  /** Minus the learning rate. */
  c: number;
}

export interface RmspropAttrs {
  rho: number;
  momentum: number;
  lr: number;
  eps: number;
}

let enabled = true;

/** Turns the fused updates off (false): the optimizers then run tfjs's own; for comparisons. */
export function setFusedOptimizers(on: boolean): void {
  enabled = on;
}

/** True where the optimizers' updates run as these kernels on `backend` (default: the current). */
export function fusedOptimizersAvailable(backend: string = tf.getBackend()): boolean {
  if (!enabled) return false;
  if (backend === 'cpu') return true;
  return backend === 'wasm' && wasmKernelSet() === 'simd';
}

function momentumJs(
  [value, acc, grad]: Float32Array[],
  [outValue, outAcc]: Float32Array[],
  { m, c }: MomentumAttrs,
): void {
  const mf = f32(m);
  const cf = f32(c);
  for (let i = 0; i < value.length; i++) {
    const a = f32(f32(mf * acc[i]!) + grad[i]!);
    outAcc![i] = a;
    outValue![i] = f32(cf * a) + value[i]!;
  }
}

function rmspropJs(
  [value, ms, mom, grad]: Float32Array[],
  [outValue, outMs, outMom]: Float32Array[],
  a: RmspropAttrs,
): void {
  const rho = f32(a.rho);
  const oneMinusRho = f32(1 - a.rho);
  const momentum = f32(a.momentum);
  const lr = f32(a.lr);
  const eps = f32(a.eps);
  for (let i = 0; i < value.length; i++) {
    const g = grad[i]!;
    const s = f32(f32(ms[i]! * rho) + f32(f32(g * g) * oneMinusRho));
    outMs![i] = s;
    const step = f32(f32(g * lr) / f32(Math.sqrt(f32(s + eps))));
    const p = f32(f32(mom[i]! * momentum) + step);
    outMom![i] = p;
    outValue![i] = value[i]! - p;
  }
}

type Update<A> = (inputs: Float32Array[], outputs: Float32Array[], attrs: A) => void;

function cpuKernel<A>(names: string[], outputs: number, update: Update<A>): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const cpu = backend as unknown as CpuBackendLike;
    const ins = names.map((n) => cpuValues(cpu, inputs[n] as Info));
    const outs = Array.from({ length: outputs }, () => new Float32Array(ins[0]!.length));
    update(ins, outs, attrs as unknown as A);
    const shape = (inputs[names[0]!] as Info).shape;
    return outs.map((o) => cpu.makeTensorInfo(shape, 'float32', o));
  };
}

function wasmKernel<A>(
  names: string[],
  outputs: number,
  update: Update<A>,
  simd: (ex: NonNullable<ReturnType<typeof kernels>>, at: number[], n: number, a: A) => void,
): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const wasm = backend as unknown as WasmHeapBackend;
    const ins = names.map((n) => inputs[n] as Info);
    const shape = ins[0]!.shape;
    const outs = Array.from({ length: outputs }, () => wasm.makeOutput(shape, 'float32'));
    const ex = kernels(wasm);
    const n = shape.reduce((p, d) => p * d, 1);
    if (ex)
      simd(
        ex,
        [...ins, ...outs].map((t) => address(wasm, t)),
        n,
        attrs as unknown as A,
      );
    else
      update(
        ins.map((t) => heapF32(wasm, t)),
        outs.map((t) => heapF32(wasm, t)),
        attrs as unknown as A,
      );
    return outs;
  };
}

const MOMENTUM_INPUTS = ['value', 'acc', 'grad'];
const RMSPROP_INPUTS = ['value', 'ms', 'mom', 'grad'];

let registered = false;

/** Registers both kernels for wasm and cpu; idempotent. */
export function registerOptimizerKernels(): void {
  if (registered) return;
  registered = true;
  const all: Array<[string, string, tf.KernelFunc]> = [
    ['cpu', MOMENTUM_UPDATE, cpuKernel(MOMENTUM_INPUTS, 2, momentumJs)],
    ['cpu', RMSPROP_UPDATE, cpuKernel(RMSPROP_INPUTS, 3, rmspropJs)],
    [
      'wasm',
      MOMENTUM_UPDATE,
      wasmKernel(MOMENTUM_INPUTS, 2, momentumJs, (ex, at, n, { m, c }) =>
        ex.momentum(...at, n, m, c),
      ),
    ],
    [
      'wasm',
      RMSPROP_UPDATE,
      wasmKernel(RMSPROP_INPUTS, 3, rmspropJs, (ex, at, n, a) =>
        ex.rmsprop(...at, n, a.rho, 1 - a.rho, a.momentum, a.lr, a.eps),
      ),
    ],
  ];
  for (const [backendName, kernelName, kernelFunc] of all)
    if (!tf.getKernel(kernelName, backendName))
      tf.registerKernel({ kernelName, backendName, kernelFunc });
}

registerOptimizerKernels();

/** [value', acc'] of SGD with momentum (see the module comment). */
export function momentumUpdate(
  value: tf.Tensor,
  acc: tf.Tensor,
  grad: tf.Tensor,
  attrs: MomentumAttrs,
): [tf.Tensor, tf.Tensor] {
  return tf
    .engine()
    .runKernel(MOMENTUM_UPDATE, { value, acc, grad }, attrs as unknown as tf.NamedAttrMap) as [
    tf.Tensor,
    tf.Tensor,
  ];
}

/** [value', ms', mom'] of uncentred RMSprop (see the module comment). */
export function rmspropUpdate(
  value: tf.Tensor,
  ms: tf.Tensor,
  mom: tf.Tensor,
  grad: tf.Tensor,
  attrs: RmspropAttrs,
): [tf.Tensor, tf.Tensor, tf.Tensor] {
  return tf
    .engine()
    .runKernel(RMSPROP_UPDATE, { value, ms, mom, grad }, attrs as unknown as tf.NamedAttrMap) as [
    tf.Tensor,
    tf.Tensor,
    tf.Tensor,
  ];
}
