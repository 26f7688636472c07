/**
 * Training speed of the wasm backend (with lib/backend/wasm-gradients) against the pure-JS cpu
 * backend, in one run:
 *
 *   1. training images/s of a teaching-size Xception and ResNet50 on wasm and on cpu, and the ratio;
 *   2. GFLOP/s of each composed backward kernel next to wasm's forward conv on the same shape;
 *   3. RSS and tf.memory().numTensors over many wasm training steps.
 *
 * Networks: lib/models' buildXception and buildResNet50 under the study's classifier head
 * (buildClassifier), at the given input size and width multiplier.
 *
 * Usage: npm run bench:train [-- --input 96 --width 0.25 --batch 8 --wasm-steps 5 --cpu-steps 1
 *        --memory-steps 100 --skip-cpu]
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { selectBackend } from '../lib/backend/select';
import { buildClassifier } from '../lib/models/classifier';
import { buildResNet50 } from '../lib/models/resnet50';
import { scaleChannels } from '../lib/models/width';
import { buildXception } from '../lib/models/xception';
import { Rng } from '../lib/util/rng';

interface Options {
  input: number;
  width: number;
  batch: number;
  classes: number;
  wasmSteps: number;
  cpuSteps: number;
  memorySteps: number;
  skipCpu: boolean;
}

function parseOptions(argv: string[]): Options {
  const options: Options = {
    input: 96,
    width: 0.25,
    batch: 8,
    classes: 10,
    wasmSteps: 5,
    cpuSteps: 1,
    memorySteps: 100,
    skipCpu: false,
  };
  const numeric: Record<string, keyof Options> = {
    '--input': 'input',
    '--width': 'width',
    '--batch': 'batch',
    '--classes': 'classes',
    '--wasm-steps': 'wasmSteps',
    '--cpu-steps': 'cpuSteps',
    '--memory-steps': 'memorySteps',
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--skip-cpu') {
      options.skipCpu = true;
      continue;
    }
    const key = numeric[arg];
    const value = Number(argv[i + 1]);
    if (!key || !Number.isFinite(value) || value <= 0)
      throw new Error(`bench/train: bad argument '${arg} ${argv[i + 1] ?? ''}'`);
    (options[key] as number) = value;
    i++;
  }
  return options;
}

// ---------------------------------------------------------------------------------------------
// Networks: the project's Xception and ResNet50 (lib/models) with the study's classifier head.

const channels = (c: number, width: number): number => scaleChannels(c, width);

function withHead(base: tf.LayersModel, o: Options): tf.LayersModel {
  return buildClassifier(base, { numClasses: o.classes, seed: 1 });
}

const NETWORKS: Array<[string, (o: Options) => tf.LayersModel]> = [
  [
    'Xception',
    (o) => withHead(buildXception({ inputSize: o.input, widthMultiplier: o.width, seed: 1 }), o),
  ],
  [
    'ResNet50',
    (o) => withHead(buildResNet50({ inputSize: o.input, widthMultiplier: o.width, seed: 1 }), o),
  ],
];

// ---------------------------------------------------------------------------------------------
// Training steps.

function seededBatch(o: Options): { x: tf.Tensor4D; y: tf.Tensor2D } {
  const rng = new Rng(2024);
  const pixels = new Float32Array(o.batch * o.input * o.input * 3).map(() => rng.range(-1, 1));
  const labels = Array.from({ length: o.batch }, () => rng.int(o.classes));
  return {
    x: tf.tensor4d(pixels, [o.batch, o.input, o.input, 3]),
    y: tf.oneHot(tf.tensor1d(labels, 'int32'), o.classes).toFloat() as tf.Tensor2D,
  };
}

interface StepTimes {
  first: number;
  steady: number[];
}

/** Builds the net on `backend`, then runs 1 + `steps` SGD steps, timing each (ms). */
async function timeTraining(
  backend: 'wasm' | 'cpu',
  build: (o: Options) => tf.LayersModel,
  o: Options,
  steps: number,
  onStep?: (step: number) => void,
): Promise<StepTimes> {
  await selectBackend({ force: backend, log: null });
  const model = build(o);
  model.compile({ optimizer: tf.train.sgd(0.01), loss: 'categoricalCrossentropy' });
  const { x, y } = seededBatch(o);
  const times: number[] = [];
  for (let step = 0; step <= steps; step++) {
    const t0 = performance.now();
    await model.trainOnBatch(x, y); // resolves after the loss is read back: the step is done
    times.push(performance.now() - t0);
    onStep?.(step);
  }
  tf.dispose([x, y]);
  model.dispose();
  return { first: times[0]!, steady: times.slice(1) };
}

const median = (v: number[]): number => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

// ---------------------------------------------------------------------------------------------
// Backward kernels against wasm's forward conv.

interface KernelShape {
  label: string;
  n: number;
  size: number;
  ci: number;
  co: number;
  k: number;
  stride: number;
  depthwise: boolean;
}

function kernelShapes(o: Options): KernelShape[] {
  const w = (c: number): number => channels(c, o.width);
  const s = o.input;
  const n = o.batch;
  return [
    { label: 'ResNet stem 7x7/2', n, size: s, ci: 3, co: w(64), k: 7, stride: 2, depthwise: false },
    {
      label: 'ResNet 3x3',
      n,
      size: s / 4,
      ci: w(64),
      co: w(64),
      k: 3,
      stride: 1,
      depthwise: false,
    },
    {
      label: 'ResNet 1x1',
      n,
      size: s / 8,
      ci: w(512),
      co: w(128),
      k: 1,
      stride: 1,
      depthwise: false,
    },
    {
      label: 'ResNet 1x1/2',
      n,
      size: s / 4,
      ci: w(256),
      co: w(128),
      k: 1,
      stride: 2,
      depthwise: false,
    },
    {
      label: 'Xception 3x3',
      n,
      size: s / 2 - 2,
      ci: w(32),
      co: w(64),
      k: 3,
      stride: 1,
      depthwise: false,
    },
    {
      label: 'Xception 1x1/2',
      n,
      size: s / 4,
      ci: w(128),
      co: w(256),
      k: 1,
      stride: 2,
      depthwise: false,
    },
    {
      label: 'Xception pointwise',
      n,
      size: s / 16,
      ci: w(728),
      co: w(728),
      k: 1,
      stride: 1,
      depthwise: false,
    },
    {
      label: 'Xception depthwise 3x3',
      n,
      size: s / 4,
      ci: w(256),
      co: w(256),
      k: 3,
      stride: 1,
      depthwise: true,
    },
  ].map((shape) => ({ ...shape, size: Math.round(shape.size) }));
}

/** Median ms of `reps` runs of `f` after one warm-up; `f` returns what to read back and free. */
function timeKernel(f: () => tf.Tensor, reps: number): number {
  const times: number[] = [];
  for (let i = 0; i <= reps; i++) {
    const t0 = performance.now();
    const out = f();
    out.dataSync();
    const t = performance.now() - t0;
    out.dispose();
    if (i > 0) times.push(t);
  }
  return median(times);
}

function benchKernels(o: Options, wasmOwnBackpropInput: tf.KernelConfig | undefined): void {
  console.log(
    `\nBackward kernels on wasm, GFLOP/s (median of 5; FLOPs of the forward conv, 2 per multiply-add)`,
  );
  console.log(
    'shape'.padEnd(48) +
      'fwd'.padStart(7) +
      'dW'.padStart(7) +
      'dX'.padStart(7) +
      'dW/fwd'.padStart(8) +
      "  wasm's own dX",
  );
  const rng = new Rng(99);
  for (const ks of kernelShapes(o)) {
    const normal = (shape: number[]): tf.Tensor4D =>
      tf.tensor4d(
        Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal()),
        shape as [number, number, number, number],
      );
    const x = normal([ks.n, ks.size, ks.size, ks.ci]);
    const filter = normal([ks.k, ks.k, ks.ci, ks.depthwise ? 1 : ks.co]);
    const forward = (): tf.Tensor4D =>
      ks.depthwise
        ? tf.depthwiseConv2d(x, filter, ks.stride, 'same')
        : tf.conv2d(x, filter, ks.stride, 'same');
    const probe = forward();
    const dy = normal(probe.shape);
    const flop = (2 * probe.size * ks.k * ks.k * (ks.depthwise ? 1 : ks.ci)) / 1e9;
    probe.dispose();
    const attrs = { strides: ks.stride, pad: 'same' };
    const run = (kernel: string, inputs: tf.NamedTensorMap, extra: object) => (): tf.Tensor =>
      tf.engine().runKernel(kernel, inputs, {
        ...attrs,
        ...extra,
      } as unknown as tf.NamedAttrMap) as tf.Tensor;
    const fwd = timeKernel(forward, 5);
    const dW = timeKernel(
      ks.depthwise
        ? run(
            tf.DepthwiseConv2dNativeBackpropFilter,
            { x, dy },
            { dilations: 1, filterShape: filter.shape },
          )
        : run(
            tf.Conv2DBackpropFilter,
            { x, dy },
            { dataFormat: 'NHWC', filterShape: filter.shape },
          ),
      5,
    );
    const dX = timeKernel(
      ks.depthwise
        ? run(
            tf.DepthwiseConv2dNativeBackpropInput,
            { dy, filter },
            { dilations: 1, inputShape: x.shape },
          )
        : run(tf.Conv2DBackpropInput, { dy, filter }, { dataFormat: 'NHWC', inputShape: x.shape }),
      5,
    );
    let own = '-';
    if (!ks.depthwise && wasmOwnBackpropInput) {
      const backend = tf.backend() as unknown as {
        readSync(id: object): unknown;
        disposeData(id: object): void;
      };
      const ms = timeKernel(() => {
        const info = wasmOwnBackpropInput.kernelFunc({
          inputs: { dy, filter },
          backend,
          attrs: {
            ...attrs,
            dataFormat: 'NHWC',
            inputShape: x.shape,
          } as unknown as tf.NamedAttrMap,
        }) as tf.TensorInfo;
        return tf.engine().makeTensorFromTensorInfo(info);
      }, 2);
      own = `${((flop / ms) * 1e3).toFixed(1)} GFLOP/s (${ms.toFixed(1)} ms)`;
    }
    const g = (ms: number): string => ((flop / ms) * 1e3).toFixed(1).padStart(7);
    const shape = `${ks.label}: ${ks.n}x${ks.size}x${ks.size}x${ks.ci}->${ks.depthwise ? ks.ci : ks.co}`;
    console.log(
      shape.padEnd(48) + g(fwd) + g(dW) + g(dX) + (fwd / dW).toFixed(2).padStart(8) + `  ${own}`,
    );
    tf.dispose([x, filter, dy]);
  }
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  // wasm's own Conv2DBackpropInput, kept before registration replaces it, for comparison.
  const wasmOwnBackpropInput = tf.getKernel(tf.Conv2DBackpropInput, 'wasm');
  const selection = await selectBackend({ force: 'wasm', log: null });
  wasmOwnBackpropInput?.setupFunc?.(tf.backend());
  console.log(`bench:train  node ${process.version}, ${selection.detail}`);
  console.log(
    `input ${o.input}x${o.input}, width ${o.width}, batch ${o.batch}, ${o.classes} classes, SGD; ` +
      `wasm: 1 warm-up + ${o.wasmSteps} timed steps, cpu: ${o.skipCpu ? 'skipped' : `${o.cpuSteps} step(s) after a warm-up`}`,
  );

  console.log('\nTraining throughput (median step after the first)');
  for (const [name, build] of NETWORKS) {
    const wasm = await timeTraining('wasm', build, o, o.wasmSteps);
    const wasmRate = (o.batch * 1000) / median(wasm.steady);
    let line =
      `${name.padEnd(9)} wasm ${wasmRate.toFixed(2)} img/s (${median(wasm.steady).toFixed(0)} ms/step, ` +
      `first ${wasm.first.toFixed(0)} ms)`;
    if (!o.skipCpu) {
      const cpu = await timeTraining('cpu', build, o, o.cpuSteps);
      const cpuRate = (o.batch * 1000) / median(cpu.steady);
      line +=
        ` | cpu ${cpuRate.toFixed(3)} img/s (${(median(cpu.steady) / 1000).toFixed(1)} s/step, ` +
        `first ${(cpu.first / 1000).toFixed(1)} s) | wasm/cpu ${(wasmRate / cpuRate).toFixed(0)}x`;
    }
    console.log(line);
  }

  await selectBackend({ force: 'wasm', log: null });
  benchKernels(o, wasmOwnBackpropInput);

  console.log(`\nMemory over ${o.memorySteps} wasm training steps`);
  for (const [name, build] of NETWORKS) {
    const marks = new Set([0, 9, Math.floor(o.memorySteps / 2) - 1, o.memorySteps - 1]);
    const samples: string[] = [];
    const t0 = performance.now();
    await timeTraining('wasm', build, o, o.memorySteps - 1, (step) => {
      if (!marks.has(step)) return;
      const rss = process.memoryUsage().rss / 2 ** 20;
      samples.push(
        `step ${step + 1}: ${tf.memory().numTensors} tensors, RSS ${rss.toFixed(0)} MiB`,
      );
    });
    const seconds = (performance.now() - t0) / 1000;
    console.log(`${name.padEnd(9)} ${samples.join('; ')} (${seconds.toFixed(0)} s)`);
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
