/**
 * The project's own WebAssembly SIMD training kernels (scripts/train-kernels-wat.ts), run on the
 * wasm backend's heap in place: the module imports tfjs-backend-wasm's WebAssembly.Memory, so a
 * tensor's address is its `memoryOffset` and nothing is copied in or out. Besides the two below,
 * the module has batch norm's passes (used by lib/backend/batch-norm-kernels.ts) and MaxPoolGrad
 * (used by lib/backend/wasm-gradients.ts), called through `kernels`.
 *
 *   depthwiseFilterGradient: DepthwiseConv2dNativeBackpropFilter (multiplier 1), a streaming
 *     reduction over batch and positions for every tap. The composed kernel (one XNNPACK
 *     depthwise conv with dy as a huge filter) runs at a few percent of the forward conv's speed,
 *     because XNNPACK is built for small filters; this one reads x and dy once per tap row.
 *   columnSum: Sum / Mean over the leading axes of a float32 tensor (batch norm's per-channel
 *     reductions). tfjs-backend-wasm transposes the reduced axes innermost first and then sums
 *     one output at a time; this sums rows of the [rows, channels] view four channels at a time.
 *
 * Results differ from the composed/tfjs kernels only by float32 summation order (tested against
 * the cpu backend). Each function returns null where it does not apply; callers then run the
 * kernel they replace.
 */
import { TRAIN_KERNELS_WASM_BASE64 } from './train-kernels-wasm';

type Info = {
  dataId: object;
  shape: number[];
  dtype: 'float32' | 'int32' | 'bool' | 'complex64' | 'string';
};

/** The part of tfjs-backend-wasm's BackendWasm used here. */
export interface WasmHeapBackend {
  wasm: { asm: { memory: WebAssembly.Memory } };
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: 'float32'): Info;
  disposeData(dataId: object): boolean;
  typedArrayFromHeap(info: Info): unknown;
}

/** The module's functions; every pointer is a byte address on the wasm heap. */
export interface TrainKernelExports {
  dwfilter(...args: number[]): void;
  colsum(x: number, out: number, rows: number, cols: number): void;
  colsqdev(x: number, mean: number, out: number, rows: number, cols: number): void;
  bngradsums(dy: number, x: number, mean: number, out: number, rows: number, cols: number): void;
  bnapply(
    ...args: [
      x: number,
      mean: number,
      scale: number,
      offset: number,
      y: number,
      rows: number,
      cols: number,
    ]
  ): void;
  bngradinput(
    ...args: [
      dy: number,
      x: number,
      mean: number,
      coef: number,
      dx: number,
      rows: number,
      cols: number,
    ]
  ): void;
  maxpoolgrad(...args: number[]): void;
  momentum(...args: number[]): void;
  rmsprop(...args: number[]): void;
}
type Exports = TrainKernelExports;

let compiled: WebAssembly.Module | null | undefined;
const instances = new WeakMap<object, Exports>();

/** The kernels bound to `backend`'s heap, or null where this runtime cannot run them. */
export function kernels(backend: WasmHeapBackend): Exports | null {
  const known = instances.get(backend);
  if (known) return known;
  if (compiled === undefined) {
    try {
      compiled = new WebAssembly.Module(Buffer.from(TRAIN_KERNELS_WASM_BASE64, 'base64'));
    } catch {
      compiled = null; // no WebAssembly SIMD in this runtime
    }
  }
  const memory = backend.wasm?.asm?.memory;
  if (compiled === null || !(memory instanceof WebAssembly.Memory)) return null;
  const ex = new WebAssembly.Instance(compiled, { env: { memory } }).exports as unknown as Exports;
  instances.set(backend, ex);
  return ex;
}

/** True where this runtime can run the kernels on `backend`. */
export function trainKernelsAvailable(backend: unknown): boolean {
  return kernels(backend as WasmHeapBackend) !== null;
}

/** The byte address of a tensor's values on the wasm heap. */
export function address(backend: WasmHeapBackend, t: Info): number {
  const data = backend.dataIdMap.get(t.dataId);
  if (!data) throw new Error('train-kernels: a tensor is not on the wasm backend');
  return data.memoryOffset;
}

/** A live view of a float32 tensor on the heap (invalid once the heap grows). */
export function heapF32(backend: WasmHeapBackend, t: Info): Float32Array {
  return backend.typedArrayFromHeap(t) as Float32Array;
}

export interface DepthwiseGeometry {
  batch: number;
  inHeight: number;
  inWidth: number;
  outHeight: number;
  outWidth: number;
  filterHeight: number;
  filterWidth: number;
  strideHeight: number;
  strideWidth: number;
  padTop: number;
  padLeft: number;
}

/**
 * dW[a, t, c, 0] = sum_{b, i, j} x[b, i*sh + a - pt, j*sw + t - pl, c] * dy[b, i, j, c]: x is
 * laid into a zero-padded [n, hp, wp, cp] scratch tensor (every row and column a tap reads, the
 * channels rounded up to 4) so the kernel needs no bounds checks; dy is read in place when its
 * channels are a multiple of 4.
 */
export function depthwiseFilterGradient(
  backendIn: unknown,
  x: Info,
  dy: Info,
  g: DepthwiseGeometry,
): Info | null {
  const backend = backendIn as WasmHeapBackend;
  const ex = kernels(backend);
  if (!ex || x.dtype !== 'float32' || dy.dtype !== 'float32') return null;
  const c = x.shape[3]!;
  const cp = Math.ceil(c / 4) * 4;
  const { batch: n, inHeight: h, inWidth: w, outHeight: oh, outWidth: ow } = g;
  const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw } = g;
  const hp = (oh - 1) * sh + fh;
  const wp = (ow - 1) * sw + fw;
  const temps: Info[] = [];
  const scratch = (shape: number[]): Info => {
    const t = backend.makeOutput(shape, 'float32');
    temps.push(t);
    return t;
  };
  try {
    const xp = scratch([n, hp, wp, cp]);
    const dyp = cp === c ? dy : scratch([n, oh, ow, cp]);
    const grad = scratch([fh, fw, cp, 1]);
    const out = backend.makeOutput([fh, fw, c, 1], 'float32');
    // Views only after the last allocation (which may grow, and so detach, the heap).
    const xs = heapF32(backend, x);
    const xpv = heapF32(backend, xp);
    xpv.fill(0);
    heapF32(backend, grad).fill(0);
    // Columns of x that land in [0, wp) after the shift by pl.
    const q0 = Math.max(0, g.padLeft);
    const q1 = Math.min(wp, w + g.padLeft);
    for (let b = 0; b < n; b++) {
      for (let r = 0; r < hp; r++) {
        const src = r - g.padTop;
        if (src < 0 || src >= h || q1 <= q0) continue;
        const from = ((b * h + src) * w + (q0 - g.padLeft)) * c;
        const to = ((b * hp + r) * wp + q0) * cp;
        if (cp === c) xpv.set(xs.subarray(from, from + (q1 - q0) * c), to);
        else
          for (let q = 0; q < q1 - q0; q++)
            xpv.set(xs.subarray(from + q * c, from + (q + 1) * c), to + q * cp);
      }
    }
    if (dyp !== dy) {
      const dys = heapF32(backend, dy);
      const dypv = heapF32(backend, dyp);
      dypv.fill(0);
      for (let p = 0; p < n * oh * ow; p++) dypv.set(dys.subarray(p * c, (p + 1) * c), p * cp);
    }
    ex.dwfilter(
      address(backend, xp),
      address(backend, dyp),
      address(backend, grad),
      n,
      oh,
      ow,
      hp,
      wp,
      cp,
      fh,
      fw,
      sh,
      sw,
    );
    const gv = heapF32(backend, grad);
    const ov = heapF32(backend, out);
    if (cp === c) ov.set(gv);
    else for (let k = 0; k < fh * fw; k++) ov.set(gv.subarray(k * cp, k * cp + c), k * c);
    return out;
  } finally {
    for (const t of temps) if (t !== dy) backend.disposeData(t.dataId);
  }
}

/**
 * Sum (or mean) of a float32 tensor over its first `leading` axes: [rows, cols] -> [cols], as a
 * new tensor of `outShape`. null unless cols is a multiple of 4 (the kernel's lane width).
 */
export function columnSum(
  backendIn: unknown,
  x: Info,
  leading: number,
  outShape: number[],
  mean: boolean,
): Info | null {
  const backend = backendIn as WasmHeapBackend;
  const ex = kernels(backend);
  if (!ex || x.dtype !== 'float32') return null;
  const rows = x.shape.slice(0, leading).reduce((a, b) => a * b, 1);
  const cols = x.shape.slice(leading).reduce((a, b) => a * b, 1);
  if (cols % 4 !== 0 || rows === 0 || cols === 0) return null;
  const out = backend.makeOutput(outShape, 'float32');
  const ov = heapF32(backend, out);
  ov.fill(0);
  ex.colsum(address(backend, x), address(backend, out), rows, cols);
  if (mean) for (let k = 0; k < cols; k++) ov[k] = ov[k]! / rows;
  return out;
}
