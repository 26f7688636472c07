/**
 * Which training kernels the wasm backend runs. 'simd' (the default): the project's own kernels
 * beside the XNNPACK compositions of lib/backend/wasm-gradients.ts, namely the WebAssembly SIMD
 * kernels of lib/backend/train-kernels.ts (the depthwise filter gradient, Sum and Mean over leading
 * axes, MaxPoolGrad), batch normalization in training mode as one op
 * (lib/backend/batch-norm-kernels.ts), and Identity and same-dtype Cast sharing their input's data
 * instead of copying it. 'composed' (ARTSTYLE_WASM_KERNELS=composed) runs the compositions alone,
 * with wasm's own Sum, Mean, Identity and Cast and tfjs's composed batch norm: the reference the
 * 'simd' set is compared with. The two differ in float32 summation order (`node
 * dist/bench/train.js --compare-kernels` measures how far one step's gradients move), which is
 * enough to change a run's results in their last digits and beyond: the documented teaching
 * results are measured with 'simd'. A module of its own so that reading the setting does not load
 * the wasm backend.
 */
export type WasmKernelSet = 'simd' | 'composed';

/** The kernel set named by ARTSTYLE_WASM_KERNELS (unset or empty: 'simd'). */
export function parseWasmKernelSet(v: string | undefined): WasmKernelSet {
  if (v === undefined || v === '' || v === 'simd') return 'simd';
  if (v === 'composed') return 'composed';
  throw new Error(`ARTSTYLE_WASM_KERNELS: expected 'simd' or 'composed', got ${JSON.stringify(v)}`);
}

let kernelSet: WasmKernelSet = parseWasmKernelSet(process.env['ARTSTYLE_WASM_KERNELS']);

export function setWasmKernelSet(set: WasmKernelSet): void {
  if (set !== 'simd' && set !== 'composed')
    throw new Error(`setWasmKernelSet: expected 'simd' or 'composed', got ${JSON.stringify(set)}`);
  kernelSet = set;
}

export function wasmKernelSet(): WasmKernelSet {
  return kernelSet;
}
