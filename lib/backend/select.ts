import { spawnSync } from 'node:child_process';
import * as tf from '@tensorflow/tfjs';
import { ArtstyleError, errorMessage } from '../util/errors';

/**
 * Picks the fastest TensorFlow.js backend that really works on this machine.
 *
 * Order: tfjs-node-gpu on a CUDA device, WebGPU on a hardware adapter, tfjs-node (native CPU),
 * wasm (with this project's training gradients), pure-JS cpu. `ARTSTYLE_BACKEND` forces one; a
 * forced backend that cannot load is an error, never a silent fallback.
 */
export const BACKEND_ORDER = ['node-gpu', 'webgpu', 'node', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKEND_ORDER)[number];

export type ProbeOutcome =
  | { ok: true; tfName: string; detail: string }
  | {
      ok: false;
      reason: 'not-installed' | 'no-device' | 'software-device' | 'failed';
      detail: string;
    };

/** One way to get a backend: `probe` tries to make it usable; `activate` makes it current. */
export interface BackendCandidate {
  name: BackendChoice;
  /** `forced` lets a probe accept what it would otherwise skip (a software WebGPU adapter). */
  probe(forced: boolean): Promise<ProbeOutcome>;
}

export interface SkippedBackend {
  name: BackendChoice;
  reason: string;
  detail: string;
}

export interface BackendSelection {
  /** Our name for the chosen backend. */
  name: BackendChoice;
  /** The name TensorFlow.js knows it by (`tf.getBackend()`). */
  tfName: string;
  forced: boolean;
  detail: string;
  skipped: SkippedBackend[];
  /** A few lines saying what was chosen and why each faster one was not. */
  summary: string;
}

export interface SelectOptions {
  /** Defaults to `process.env.ARTSTYLE_BACKEND`. */
  force?: string | undefined;
  candidates?: BackendCandidate[];
  /** Where the summary goes; defaults to console.log. Pass `null` for silence. */
  log?: ((line: string) => void) | null;
}

function isModuleMissing(e: unknown, moduleName: string): boolean {
  const err = e as NodeJS.ErrnoException;
  return err?.code === 'MODULE_NOT_FOUND' && errorMessage(e).includes(`'${moduleName}'`);
}

async function activate(tfName: string): Promise<void> {
  const ok = await tf.setBackend(tfName);
  if (!ok) throw new Error(`tf.setBackend('${tfName}') returned false`);
  await tf.ready();
  // Run one real op: registration alone proves nothing (see the danfojs alias of tfjs-node).
  const value = tf.tidy(() => tf.add(tf.tensor1d([1, 2]), tf.scalar(1)).dataSync());
  if (value[0] !== 2 || value[1] !== 3)
    throw new Error(`backend '${tfName}' computed [1,2]+1 = ${Array.from(value)}`);
}

function nativeBackendRegistered(): boolean {
  return tf.findBackendFactory('tensorflow') != null;
}

function requireNative(moduleName: string): ProbeOutcome | null {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require(moduleName);
  } catch (e) {
    if (isModuleMissing(e, moduleName))
      return { ok: false, reason: 'not-installed', detail: `${moduleName} is not installed` };
    return {
      ok: false,
      reason: 'failed',
      detail: `${moduleName} failed to load: ${errorMessage(e)}`,
    };
  }
  if (!nativeBackendRegistered()) {
    return {
      ok: false,
      reason: 'not-installed',
      detail: `${moduleName} resolves to a package without the native binding (danfojs-node's alias of @tensorflow/tfjs)`,
    };
  }
  return null;
}

/**
 * Loads a native TensorFlow binding and runs an op on it; null when that worked, else why not.
 * `label` names the package in the messages (tfjs-node, tfjs-node-gpu).
 */
async function loadNative(moduleName: string, label: string): Promise<ProbeOutcome | null> {
  const missing = requireNative(moduleName);
  if (missing) return missing;
  try {
    await activate('tensorflow');
  } catch (e) {
    return {
      ok: false,
      reason: 'failed',
      detail: `${label} failed to run an op: ${errorMessage(e)}`,
    };
  }
  return null;
}

export const nodeGpuCandidate: BackendCandidate = {
  name: 'node-gpu',
  async probe() {
    const failed = await loadNative('@tensorflow/tfjs-node-gpu', 'tfjs-node-gpu');
    if (failed) return failed;
    const usingGpu = (tf.backend() as unknown as { isUsingGpuDevice?: boolean }).isUsingGpuDevice;
    if (!usingGpu)
      return {
        ok: false,
        reason: 'no-device',
        detail: 'tfjs-node-gpu loaded but found no CUDA device',
      };
    return { ok: true, tfName: 'tensorflow', detail: 'libtensorflow with a CUDA device' };
  },
};

interface AdapterProbe {
  found: boolean;
  software: boolean;
  info: { architecture?: string; description?: string; vendor?: string };
  /** What Dawn printed while looking (e.g. "Couldn't load Vulkan: libvulkan.so.1 ..."). */
  warning: string;
}

/**
 * Asks Dawn for an adapter in a child process: Dawn prints its own warnings (a missing Vulkan
 * loader, with a source path from the webgpu package's build) straight to the process's stderr,
 * which would land in every CLI run and notebook log. The child's stderr is kept instead and
 * summarised in the backend line. Only a machine with an adapter creates one in this process.
 */
function probeAdapterQuietly(webgpuPath: string): AdapterProbe {
  const script = `
    const { create, globals } = require(${JSON.stringify(webgpuPath)});
    Object.assign(globalThis, globals);
    create([]).requestAdapter().then((a) => {
      const info = (a && a.info) || {};
      process.stdout.write(JSON.stringify({ found: !!a, fallback: !!(a && a.isFallbackAdapter),
        info: { architecture: info.architecture, description: info.description, vendor: info.vendor } }));
      process.exit(0);
    }, (e) => { process.stdout.write(JSON.stringify({ error: String(e) })); process.exit(0); });`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 60_000 });
  const warning = (r.stderr ?? '')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('at '))
    .map((l) => l.replace(/^Warning:\s*/, ''))
    .join('; ');
  let out: { found?: boolean; fallback?: boolean; info?: AdapterProbe['info']; error?: string };
  try {
    out = JSON.parse(r.stdout || '{}') as typeof out;
  } catch {
    out = { error: `adapter probe printed ${JSON.stringify(r.stdout.slice(0, 200))}` };
  }
  if (out.error) throw new Error(out.error + (warning ? ` (${warning})` : ''));
  const info = out.info ?? {};
  const software =
    out.fallback === true ||
    info.architecture === 'software' ||
    /llvmpipe|lavapipe|swiftshader/i.test(info.description ?? '');
  return { found: out.found === true, software, info, warning };
}

export const webgpuCandidate: BackendCandidate = {
  name: 'webgpu',
  async probe(forced) {
    let create: (flags: string[]) => unknown;
    let globals: Record<string, unknown>;
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      ({ create, globals } = require('webgpu') as {
        create: (flags: string[]) => unknown;
        globals: Record<string, unknown>;
      });
    } catch (e) {
      if (isModuleMissing(e, 'webgpu'))
        return {
          ok: false,
          reason: 'not-installed',
          detail: 'webgpu (Dawn for Node) is not installed',
        };
      return { ok: false, reason: 'failed', detail: `webgpu failed to load: ${errorMessage(e)}` };
    }
    let adapterInfo: AdapterProbe['info'] = {};
    try {
      const probe = probeAdapterQuietly(require.resolve('webgpu'));
      if (!probe.found)
        return {
          ok: false,
          reason: 'no-device',
          detail: `WebGPU found no adapter${probe.warning ? ` (Dawn: ${probe.warning})` : ' (no Vulkan driver?)'}`,
        };
      adapterInfo = probe.info;
      if (probe.software && !forced) {
        return {
          ok: false,
          reason: 'software-device',
          detail: `WebGPU adapter is software (${adapterInfo.description || adapterInfo.architecture}); wasm is faster on a CPU`,
        };
      }
      const g = globalThis as Record<string, unknown>;
      Object.assign(g, globals);
      if (!(g['navigator'] as { gpu?: unknown } | undefined)?.gpu) {
        Object.defineProperty(g, 'navigator', {
          value: { gpu: create([]) },
          configurable: true,
          writable: true,
        });
      }
    } catch (e) {
      return {
        ok: false,
        reason: 'failed',
        detail: `WebGPU adapter request failed: ${errorMessage(e)}`,
      };
    }
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      require('@tensorflow/tfjs-backend-webgpu');
    } catch (e) {
      if (isModuleMissing(e, '@tensorflow/tfjs-backend-webgpu'))
        return {
          ok: false,
          reason: 'not-installed',
          detail: '@tensorflow/tfjs-backend-webgpu is not installed',
        };
      return {
        ok: false,
        reason: 'failed',
        detail: `@tensorflow/tfjs-backend-webgpu failed to load: ${errorMessage(e)}`,
      };
    }
    try {
      await activate('webgpu');
    } catch (e) {
      return {
        ok: false,
        reason: 'failed',
        detail: `WebGPU backend failed to run an op: ${errorMessage(e)}`,
      };
    }
    return {
      ok: true,
      tfName: 'webgpu',
      detail:
        `WebGPU on ${adapterInfo.vendor ?? ''} ${adapterInfo.description ?? adapterInfo.architecture ?? ''}`.trim(),
    };
  },
};

export const nodeCandidate: BackendCandidate = {
  name: 'node',
  async probe() {
    const failed = await loadNative('@tensorflow/tfjs-node', 'tfjs-node');
    if (failed) return failed;
    return { ok: true, tfName: 'tensorflow', detail: 'libtensorflow on the CPU' };
  },
};

export const wasmCandidate: BackendCandidate = {
  name: 'wasm',
  async probe() {
    let kernels = 'simd';
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      require('@tensorflow/tfjs-backend-wasm');
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const gradients = require('./wasm-gradients') as {
        registerWasmGradients(): void;
        wasmKernelSet(): string;
      };
      gradients.registerWasmGradients();
      kernels = gradients.wasmKernelSet();
      await activate('wasm');
    } catch (e) {
      if (isModuleMissing(e, '@tensorflow/tfjs-backend-wasm'))
        return {
          ok: false,
          reason: 'not-installed',
          detail: '@tensorflow/tfjs-backend-wasm is not installed',
        };
      return { ok: false, reason: 'failed', detail: `wasm backend failed: ${errorMessage(e)}` };
    }
    return {
      ok: true,
      tfName: 'wasm',
      detail: `WebAssembly (XNNPACK, SIMD) with the project's training gradients (${kernels} kernels)`,
    };
  },
};

export const cpuCandidate: BackendCandidate = {
  name: 'cpu',
  async probe() {
    try {
      await activate('cpu');
    } catch (e) {
      return { ok: false, reason: 'failed', detail: `cpu backend failed: ${errorMessage(e)}` };
    }
    return { ok: true, tfName: 'cpu', detail: 'pure JavaScript (slow; for checks only)' };
  },
};

export const DEFAULT_CANDIDATES: BackendCandidate[] = [
  nodeGpuCandidate,
  webgpuCandidate,
  nodeCandidate,
  wasmCandidate,
  cpuCandidate,
];

function describe(selection: Omit<BackendSelection, 'summary'>): string {
  const lines = [
    `backend: ${selection.name} (${selection.tfName}${selection.forced ? ', forced by ARTSTYLE_BACKEND' : ''}): ${selection.detail}`,
  ];
  for (const s of selection.skipped) lines.push(`  skipped ${s.name}: ${s.reason}: ${s.detail}`);
  return lines.join('\n');
}

/** Chooses and activates a backend; see the module comment for the policy. */
export async function selectBackend(options: SelectOptions = {}): Promise<BackendSelection> {
  const candidates = options.candidates ?? DEFAULT_CANDIDATES;
  const rawForce = 'force' in options ? options.force : process.env['ARTSTYLE_BACKEND'];
  const force = rawForce?.trim() ? rawForce.trim() : undefined;
  const log = options.log === undefined ? (line: string) => console.log(line) : options.log;

  let chosen: Omit<BackendSelection, 'summary'> | undefined;
  const skipped: SkippedBackend[] = [];
  if (force !== undefined) {
    const candidate = candidates.find((c) => c.name === force);
    if (!candidate) {
      throw new ArtstyleError(
        'unknown-backend',
        `ARTSTYLE_BACKEND=${force} is not a backend; choose one of ${BACKEND_ORDER.join(', ')}`,
        'ARTSTYLE_BACKEND',
      );
    }
    const outcome = await candidate.probe(true);
    if (!outcome.ok) {
      throw new ArtstyleError(
        'backend-unavailable',
        `ARTSTYLE_BACKEND=${force} was forced but cannot load: ${outcome.reason}: ${outcome.detail}`,
        'ARTSTYLE_BACKEND',
      );
    }
    chosen = {
      name: candidate.name,
      tfName: outcome.tfName,
      forced: true,
      detail: outcome.detail,
      skipped,
    };
  } else {
    for (const candidate of candidates) {
      const outcome = await candidate.probe(false);
      if (outcome.ok) {
        chosen = {
          name: candidate.name,
          tfName: outcome.tfName,
          forced: false,
          detail: outcome.detail,
          skipped,
        };
        break;
      }
      skipped.push({ name: candidate.name, reason: outcome.reason, detail: outcome.detail });
    }
  }
  if (!chosen) {
    throw new ArtstyleError(
      'no-backend',
      `no TensorFlow.js backend could load:\n${skipped.map((s) => `  ${s.name}: ${s.detail}`).join('\n')}`,
      'backend',
    );
  }
  const summary = describe(chosen);
  if (log) log(summary);
  return { ...chosen, summary };
}
