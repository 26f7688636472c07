import { ArtstyleError, errorMessage } from './errors';

/**
 * Out-of-memory failures as errors a user can act on. The raw forms are a wasm trap
 * (`RuntimeError: memory access out of bounds` or `Aborted()` when the 4 GiB wasm heap is full;
 * after either, the wasm module is unusable for the rest of the process, measured), a V8
 * allocation failure (`RangeError: Array buffer allocation failed`), or a native backend's
 * resource error (libtensorflow's `OOM when allocating tensor`, `ResourceExhaustedError`; WebGPU's
 * out-of-memory). None of them says which step, batch or size ran out, or what to change.
 */
export type MemoryKind = 'wasm-heap' | 'process' | 'gpu';

export function memoryErrorKind(e: unknown): MemoryKind | null {
  if (e instanceof ArtstyleError) return null;
  const message = errorMessage(e);
  const name = e instanceof Error ? e.name || e.constructor.name : '';
  if (
    (name === 'RuntimeError' || e instanceof WebAssembly.RuntimeError) &&
    /memory access out of bounds|Aborted\(|out of memory|Cannot enlarge memory/i.test(message)
  )
    return 'wasm-heap';
  if (
    /OOM when allocating|ResourceExhausted|resource exhausted|GPUOutOfMemory|out of GPU memory/i.test(
      message,
    )
  )
    return 'gpu';
  if (
    e instanceof RangeError &&
    /Array buffer allocation failed|Invalid typed array length|Invalid array buffer length|allocation failed/i.test(
      message,
    )
  )
    return 'process';
  if (/JavaScript heap out of memory|Cannot allocate memory|ENOMEM/.test(message)) return 'process';
  return null;
}

export interface MemoryContext {
  /** The run, e.g. `pretrain` or `block3`. */
  label: string;
  /** What was running: `training`, `validation`, `prediction`, `feature extraction`. */
  activity: string;
  /** 1-based, where known. */
  epoch?: number;
  batch?: number;
  batchSize: number;
  /** Images per micro-batch, when the batch was split. */
  microBatch?: number;
  /** Square input size in pixels. */
  imageSize: number;
  backend: string;
  /** What was saved and is safe, e.g. "epoch 3 is checkpointed in DIR". */
  saved?: string;
  /** The setting that makes the batches smaller here, e.g. "--micro-batch 2". */
  smaller: string;
}

const WHAT_RAN_OUT: Record<MemoryKind, string> = {
  'wasm-heap': 'the wasm backend ran out of its 4 GiB heap',
  process: "the process ran out of memory (JavaScript's array buffers)",
  gpu: 'the GPU ran out of memory',
};

/** The ArtstyleError for an out-of-memory failure `e`, or null when `e` is something else. */
export function outOfMemoryError(e: unknown, c: MemoryContext): ArtstyleError | null {
  const kind = memoryErrorKind(e);
  if (!kind) return null;
  const where = [
    c.epoch !== undefined ? `epoch ${c.epoch}` : null,
    c.batch !== undefined ? `batch ${c.batch}` : null,
  ]
    .filter(Boolean)
    .join(', ');
  const sizes =
    `batches of ${c.batchSize} images of ${c.imageSize}x${c.imageSize}` +
    (c.microBatch !== undefined && c.microBatch < c.batchSize
      ? ` in micro-batches of ${c.microBatch}`
      : '');
  const todo = [
    `make the batches smaller (${c.smaller})`,
    'use a smaller profile (--profile teaching)',
    kind === 'gpu'
      ? 'or run on the CPU backends'
      : 'or a native backend without the 4 GiB limit (npm install @tensorflow/tfjs-node, or @tensorflow/tfjs-node-gpu with CUDA)',
  ];
  const dead =
    kind === 'wasm-heap'
      ? ' The wasm backend cannot continue in this process (restart the kernel or command).'
      : '';
  return new ArtstyleError(
    'out-of-memory',
    `${c.label}: ${WHAT_RAN_OUT[kind]} during ${c.activity}${where ? ` (${where})` : ''}, ${sizes}, backend ${c.backend}.${dead} ` +
      `To fit: ${todo.join('; ')}.` +
      (c.saved ? ` Nothing written before is lost: ${c.saved}.` : '') +
      ` (${errorMessage(e).split('\n')[0]})`,
    `${c.label}${where ? ` ${where}` : ''}`,
    { cause: e },
  );
}
