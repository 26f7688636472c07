/**
 * Where the from-scratch networks' matrix products run: the JavaScript kernel of matrix.ts, or the
 * same computation in WebAssembly SIMD (gemm.wat), two float64 multiply-adds per instruction.
 *
 * Both sum each output element over the inner index in the same order with a separate multiply and
 * add, so they give bit-identical results (tested); the choice changes speed, never numbers. The
 * WebAssembly engine gives every network its own memory: weights allocated with `alloc` live there
 * and are read in place, other operands are copied into a fixed scratch area. The memory is sized
 * once and never grows, so views of the weights stay valid. A product too large for the scratch
 * area is split into row blocks, or else computed by the JavaScript kernel.
 *
 * The optimisers' updates run there too (`sgd`, `adam`: the loops of updates.ts, two values per
 * instruction), on weights and Adam moments allocated in the engine's memory, where JavaScript
 * loops over them are slow. Profiled (node --cpu-prof) on the teaching size, Adam's update went from
 * about a quarter of its training time to a tenth; results bit for bit the same (tested).
 */
import { check } from '../util/errors';
import { GEMM_WASM_BASE64 } from './gemm-wasm';
import { Mat, matmul, matmulAT, matmulBT, zeros } from './matrix';
import { adamUpdate, AdamStepConstants, sgdUpdate } from './updates';

export type EngineName = 'wasm' | 'js';

export interface Products {
  readonly name: EngineName;
  /** A B */
  matmul(a: Mat, b: Mat): Mat;
  /** A B^T */
  matmulBT(a: Mat, b: Mat): Mat;
  /** A^T B, times `scale` if given (each element's sum times scale: the same as scaling after). */
  matmulAT(a: Mat, b: Mat, scale?: number): Mat;
  /** A zero matrix for a long-lived operand (a weight), which products then read without copying. */
  alloc(rows: number, cols: number): Mat;
  /** w <- w - lr g, in place (updates.ts `sgdUpdate`). */
  sgd(w: Mat, g: Mat, lr: number): void;
  /** One Adam update of w and its moments m, v, in place (updates.ts `adamUpdate`). */
  adam(w: Mat, g: Mat, m: Mat, v: Mat, k: AdamStepConstants): void;
}

function scaled(x: Mat, s: number | undefined): Mat {
  if (s !== undefined) for (let i = 0; i < x.data.length; i++) x.data[i] *= s;
  return x;
}

export const jsProducts: Products = {
  name: 'js',
  matmul,
  matmulBT,
  matmulAT: (a, b, scale) => scaled(matmulAT(a, b), scale),
  alloc: zeros,
  sgd: (w, g, lr) => sgdUpdate(w.data, g.data, lr),
  adam: (w, g, m, v, k) => adamUpdate(w.data, g.data, m.data, v.data, k),
};

interface GemmExports {
  memory: WebAssembly.Memory;
  gemm(a: number, b: number, c: number, m: number, k: number, n: number): void;
  transpose(src: number, dst: number, rows: number, cols: number): void;
  scale(x: number, n: number, s: number): void;
  sgd(w: number, g: number, n: number, lr: number): void;
  adam(
    w: number,
    g: number,
    m: number,
    v: number,
    n: number,
    b1: number,
    omb1: number,
    b2: number,
    omb2: number,
    c1: number,
    c2: number,
    lr: number,
    eps: number,
  ): void;
}

let compiled: WebAssembly.Module | null | undefined;

/** The compiled kernels, or null where this runtime has no WebAssembly SIMD. */
function gemmModule(): WebAssembly.Module | null {
  if (compiled === undefined) {
    try {
      compiled = new WebAssembly.Module(Buffer.from(GEMM_WASM_BASE64, 'base64'));
    } catch {
      compiled = null;
    }
  }
  return compiled;
}

export function wasmSimdAvailable(): boolean {
  return gemmModule() !== null;
}

/** A matrix stored in an engine's memory (which never grows, so the view stays valid). */
class ResidentMat implements Mat {
  readonly data: Float64Array;

  constructor(
    readonly rows: number,
    readonly cols: number,
    readonly ptr: number,
    memory: WebAssembly.Memory,
  ) {
    this.data = new Float64Array(memory.buffer, ptr, rows * cols);
  }
}

const PAGE = 65536;
const align = (bytes: number): number => Math.ceil(bytes / 16) * 16;

/** The `residentBytes` that `alloc` needs for matrices of these shapes ([rows, cols] each). */
export function residentBytesFor(shapes: readonly (readonly [number, number])[]): number {
  return shapes.reduce((sum, [rows, cols]) => sum + align(rows * cols * 8), 0);
}

const ENGINES = ['auto', 'wasm', 'js'];

/** Checks an engine option, naming it when it is not auto, wasm or js. */
export function checkEngine(engine: string): void {
  check(ENGINES.includes(engine), 'engine', `expected auto, wasm or js, got ${engine}`);
}

/** Default scratch area: 2M float64 values, enough for every product of a mini-batch step. */
export const DEFAULT_SCRATCH_BYTES = 16 * 2 ** 20;

class WasmProducts implements Products {
  readonly name = 'wasm' as const;
  private readonly ex: GemmExports;
  private residentEnd = 0;
  private readonly scratchStart: number;

  constructor(
    mod: WebAssembly.Module,
    private readonly residentBytes: number,
    private readonly scratchBytes: number,
  ) {
    this.ex = new WebAssembly.Instance(mod, {}).exports as unknown as GemmExports;
    this.scratchStart = align(residentBytes);
    const need = Math.ceil((this.scratchStart + scratchBytes) / PAGE);
    const have = this.ex.memory.buffer.byteLength / PAGE;
    if (need > have) this.ex.memory.grow(need - have);
  }

  alloc(rows: number, cols: number): Mat {
    const bytes = align(rows * cols * 8);
    if (this.residentEnd + bytes > this.residentBytes) return zeros(rows, cols);
    const m = new ResidentMat(rows, cols, this.residentEnd, this.ex.memory);
    this.residentEnd += bytes;
    return m;
  }

  matmul(a: Mat, b: Mat): Mat {
    return this.product(a, b, 'n') ?? matmul(a, b);
  }

  matmulBT(a: Mat, b: Mat): Mat {
    return this.product(a, b, 'bt') ?? matmulBT(a, b);
  }

  matmulAT(a: Mat, b: Mat, scale?: number): Mat {
    return this.product(a, b, 'at', scale) ?? scaled(matmulAT(a, b), scale);
  }

  sgd(w: Mat, g: Mat, lr: number): void {
    const wp = this.resident(w);
    const gp = wp === null ? null : this.operand(g, this.scratchStart);
    if (wp === null || gp === null) return sgdUpdate(w.data, g.data, lr);
    this.ex.sgd(wp, gp, w.data.length, lr);
  }

  adam(w: Mat, g: Mat, m: Mat, v: Mat, k: AdamStepConstants): void {
    const wp = this.resident(w);
    const mp = this.resident(m);
    const vp = this.resident(v);
    const gp =
      wp === null || mp === null || vp === null ? null : this.operand(g, this.scratchStart);
    if (wp === null || mp === null || vp === null || gp === null)
      return adamUpdate(w.data, g.data, m.data, v.data, k);
    const { beta1, beta2, epsilon, learningRate, c1, c2 } = k;
    this.ex.adam(wp, gp, mp, vp, w.data.length, beta1, 1 - beta1, beta2, 1 - beta2, c1, c2, learningRate, epsilon); // prettier-ignore
  }

  /** x's address: in place if resident, else copied to `at` in the scratch area (null: too big). */
  private operand(x: Mat, at: number): number | null {
    const res = this.resident(x);
    if (res !== null) return res;
    if (at + x.data.length * 8 > this.scratchStart + this.scratchBytes) return null;
    new Float64Array(this.ex.memory.buffer).set(x.data, at / 8);
    return at;
  }

  private resident(x: Mat): number | null {
    return x instanceof ResidentMat && x.data.buffer === this.ex.memory.buffer ? x.ptr : null;
  }

  /**
   * C = A B^T as C^T = B A^T: C^T[j][i] sums B[j][p] A[i][p] over p in the same order as C[i][j]
   * sums A[i][p] B[j][p], and a product of two floats does not depend on their order, so the
   * result is bit-identical. false: does not fit the scratch area in one piece.
   */
  private swappedBT(a: Mat, b: Mat, m: number, k: number, n: number, out: Mat): boolean {
    const { ex } = this;
    let free = this.scratchStart;
    const end = this.scratchStart + this.scratchBytes;
    const take = (values: number): number => {
      const ptr = free;
      free += align(values * 8);
      return ptr;
    };
    const aRes = this.resident(a);
    const bRes = this.resident(b);
    const aCopy = aRes === null ? take(m * k) : aRes;
    const bPtr = bRes === null ? take(n * k) : bRes;
    const aT = take(k * m);
    const cT = take(n * m);
    const c = take(m * n);
    if (free > end) return false;
    const heap = new Float64Array(ex.memory.buffer);
    if (aRes === null) heap.set(a.data, aCopy / 8);
    if (bRes === null) heap.set(b.data, bPtr / 8);
    ex.transpose(aCopy, aT, m, k);
    ex.gemm(bPtr, aT, cT, n, k, m);
    ex.transpose(cT, c, n, m);
    out.data.set(heap.subarray(c / 8, c / 8 + m * n));
    return true;
  }

  /** null: does not fit the scratch area (the caller then uses the JavaScript kernel). */
  private product(a: Mat, b: Mat, mode: 'n' | 'bt' | 'at', scale?: number): Mat | null {
    const m = mode === 'at' ? a.cols : a.rows;
    const k = mode === 'at' ? a.rows : a.cols;
    const n = mode === 'bt' ? b.rows : b.cols;
    const kb = mode === 'bt' ? b.cols : b.rows;
    check(k === kb, 'matmul', `inner dimensions differ: ${m}x${k} times ${kb}x${n}`);
    const out = zeros(m, n);
    if (m === 0 || n === 0) return out;
    // A B^T with B the larger operand (dZ W^T with W a weight): transposing B costs more than
    // computing C^T = B A^T and transposing the two smaller matrices A and C^T.
    if (mode === 'bt' && m * k + m * n < n * k && this.swappedBT(a, b, m, k, n, out)) return out;
    const { ex } = this;
    let free = this.scratchStart;
    const end = this.scratchStart + this.scratchBytes;
    const take = (values: number): number | null => {
      const ptr = free;
      free += align(values * 8);
      return free <= end ? ptr : null;
    };
    // Plan every piece before writing anything, so that a product that does not fit costs nothing.
    const aRes = this.resident(a);
    const bRes = this.resident(b);
    const bCopy = bRes === null ? take(k * n) : 0;
    const bT = mode === 'bt' ? take(k * n) : 0;
    const aCopy = mode === 'at' && aRes === null ? take(k * m) : 0;
    const aT = mode === 'at' ? take(m * k) : 0;
    if (bCopy === null || bT === null || aCopy === null || aT === null) return null;
    // Row blocks: A's rows (unless resident or transposed in full above) and C's rows.
    const blockACols = mode !== 'at' && aRes === null ? k : 0;
    const rowsPerBlock = Math.min(m, Math.floor((end - free) / (8 * (blockACols + n))) - 1);
    if (rowsPerBlock < 1) return null;
    const blockA = free;
    const blockC = blockA + align(rowsPerBlock * blockACols * 8);
    // The memory never grows (see the constructor), so one view serves the whole product.
    const heap = new Float64Array(ex.memory.buffer);
    /** An operand's address: in place if resident, else copied; transposed into `t` if given. */
    const place = (
      x: Mat,
      res: number | null,
      copy: number,
      t: number | null,
      rows: number,
      cols: number,
    ): number => {
      let src = res;
      if (src === null) {
        heap.set(x.data, copy / 8);
        src = copy;
      }
      if (t === null) return src;
      ex.transpose(src, t, rows, cols);
      return t;
    };
    const bPtr = place(b, bRes, bCopy, mode === 'bt' ? bT : null, n, k);
    const aPtr = mode === 'at' ? place(a, aRes, aCopy, aT, k, m) : aRes;
    const A = aPtr === null ? a.data : null;
    for (let r0 = 0; r0 < m; r0 += rowsPerBlock) {
      const rows = Math.min(rowsPerBlock, m - r0);
      let src: number;
      if (aPtr !== null) {
        src = aPtr + r0 * k * 8;
      } else {
        heap.set((A as Float64Array).subarray(r0 * k, (r0 + rows) * k), blockA / 8);
        src = blockA;
      }
      ex.gemm(src, bPtr, blockC, rows, k, n);
      if (scale !== undefined) ex.scale(blockC, rows * n, scale);
      out.data.set(heap.subarray(blockC / 8, blockC / 8 + rows * n), r0 * n);
    }
    return out;
  }
}

export interface EngineOptions {
  /** 'auto': WebAssembly where the runtime has SIMD, else JavaScript. */
  engine?: 'auto' | EngineName;
  /** Room for weights read in place (`alloc`), in bytes. */
  residentBytes?: number;
  scratchBytes?: number;
}

/** Picks the engine; 'wasm' where it is unavailable is an error naming the option. */
export function createProducts(options: EngineOptions = {}): Products {
  const choice = options.engine ?? 'auto';
  checkEngine(choice);
  if (choice === 'js') return jsProducts;
  const mod = gemmModule();
  if (mod === null) {
    check(choice !== 'wasm', 'engine', 'this runtime has no WebAssembly SIMD; use engine js');
    return jsProducts;
  }
  return new WasmProducts(
    mod,
    options.residentBytes ?? 0,
    options.scratchBytes ?? DEFAULT_SCRATCH_BYTES,
  );
}
