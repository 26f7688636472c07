import * as tf from '@tensorflow/tfjs';
import { copyValues } from '../backend/tensor-io';
import { inferenceBatchSize } from '../models/memory';
import { batchInput, LossSums, type LossAccuracy, type Preprocess } from './forward';
import type { BatchSource } from './types';

/**
 * The part of a model that training cannot change, and where it ends.
 *
 * A layer without trainable weights whose inputs all come from such layers computes, in inference
 * mode, the same values for the same image in every epoch: its weights are frozen (a frozen batch
 * norm normalises with moving statistics that it does not update, lib/models/batch-norm.ts) or it
 * has none. That frozen prefix (for a sweep member, the first N blocks of the base) is what
 * validation recomputes every epoch for nothing; `frozenSplit` finds it and its frontier, the
 * prefix's tensors that the rest of the model reads, so that validation can keep the frontier's
 * values from its first epoch and run only the rest afterwards (lib/train/callbacks.ts
 * `validation`). Both halves run the model's own layers in the model's own order, as
 * `model.predict` does, so the predictions are the same bit for bit.
 *
 * Only plain graphs qualify: one input, one output, every layer applied once within the model. A
 * model without a frozen prefix beyond its input (every block trains) gives null.
 */
export interface FrozenSplit {
  /** The frontier's tensors, in a fixed order. */
  frontier: tf.SymbolicTensor[];
  /** Floats per image across the frontier (what keeping it costs). */
  floatsPerImage: number;
  /** The frontier's values for a model input, in frontier order (inference mode). */
  runPrefix(input: tf.Tensor): tf.Tensor[];
  /** The model's output from the frontier's values (inference mode). */
  runSuffix(frontier: tf.Tensor[]): tf.Tensor;
}

interface Step {
  layer: tf.layers.Layer;
  inputs: number[];
  outputs: number[];
}

/** The model's own node of each layer, in execution order; null where a layer has several. */
function steps(model: tf.LayersModel): Step[] | null {
  const own = (model as unknown as { containerNodes?: Set<string> }).containerNodes;
  if (!own) return null;
  const out: Step[] = [];
  for (const layer of model.layers) {
    const nodes = layer.inboundNodes.filter((_, i) => own.has(`${layer.name}_ib-${i}`));
    if (nodes.length !== 1) return null;
    const node = nodes[0]!;
    out.push({
      layer,
      inputs: node.inputTensors.map((t) => t.id),
      outputs: node.outputTensors.map((t) => t.id),
    });
  }
  return out;
}

/** Runs `plan` from the values in `known` (by symbolic tensor id), adding what each step makes. */
function run(plan: Step[], known: Map<number, tf.Tensor>): void {
  for (const s of plan) {
    if (s.layer.getClassName() === 'InputLayer') continue; // its value is given
    const inputs = s.inputs.map((id) => known.get(id)!);
    const out = s.layer.apply(inputs.length === 1 ? inputs[0]! : inputs, { training: false }) as
      | tf.Tensor
      | tf.Tensor[];
    const outs = Array.isArray(out) ? out : [out];
    s.outputs.forEach((id, i) => known.set(id, outs[i]!));
  }
}

export function frozenSplit(model: tf.LayersModel): FrozenSplit | null {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) return null;
  const plan = steps(model);
  if (!plan) return null;
  const frozen = new Set<number>([model.inputs[0]!.id]);
  const prefix: Step[] = [];
  const suffix: Step[] = [];
  for (const s of plan) {
    const isFrozen =
      s.layer.trainableWeights.length === 0 && s.inputs.every((id) => frozen.has(id));
    if (isFrozen) {
      prefix.push(s);
      s.outputs.forEach((id) => frozen.add(id));
    } else suffix.push(s);
  }
  const read = new Set(suffix.flatMap((s) => s.inputs));
  const output = model.outputs[0]!;
  if (frozen.has(output.id)) return null; // nothing trains
  const byId = new Map<number, tf.SymbolicTensor>();
  for (const layer of model.layers)
    for (const node of layer.inboundNodes) for (const t of node.outputTensors) byId.set(t.id, t);
  byId.set(model.inputs[0]!.id, model.inputs[0]!);
  const frontier = [...frozen].filter((id) => read.has(id)).map((id) => byId.get(id)!);
  if (frontier.length === 1 && frontier[0]!.id === model.inputs[0]!.id) return null;
  const floatsPerImage = frontier.reduce(
    (sum, t) => sum + t.shape.slice(1).reduce<number>((p, d) => p * (d ?? 1), 1),
    0,
  );
  const inputId = model.inputs[0]!.id;
  return {
    frontier,
    floatsPerImage,
    runPrefix(input) {
      const known = new Map<number, tf.Tensor>([[inputId, input]]);
      run(prefix, known);
      return frontier.map((t) => known.get(t.id)!);
    },
    runSuffix(values) {
      const known = new Map<number, tf.Tensor>(frontier.map((t, i) => [t.id, values[i]!]));
      run(suffix, known);
      return known.get(output.id)!;
    },
  };
}

/** One validation batch's frontier values and labels, kept after the first epoch. */
interface KeptBatch {
  frontier: Float32Array[];
  labels: Int32Array;
  n: number;
}

/** Keeping the frontier of a larger validation set than this is not worth its memory. */
export const FROZEN_PREFIX_MAX_BYTES = 1024 * 2 ** 20;

/**
 * Validation with the frozen prefix run once: the first `evaluate` runs the whole model batch by
 * batch and keeps each batch's frontier values (in JavaScript memory, not on the backend's heap);
 * later ones run only the rest of the model from them. The numbers are those of
 * evaluateLossAccuracy on the same batches, bit for bit (tested). For one run: the prefix's
 * weights must not change between calls, which training guarantees (it has none to train).
 */
export class FrozenPrefixValidation {
  private kept: KeptBatch[] | null = null;

  private constructor(
    private readonly split: FrozenSplit,
    private readonly model: tf.LayersModel,
  ) {}

  /** null where the model has no frozen prefix or keeping its frontier would take too much. */
  static for(
    model: tf.LayersModel,
    images: number,
    maxBytes = FROZEN_PREFIX_MAX_BYTES,
  ): FrozenPrefixValidation | null {
    const split = frozenSplit(model);
    if (!split || split.floatsPerImage * 4 * images > maxBytes) return null;
    return new FrozenPrefixValidation(split, model);
  }

  async evaluate(
    source: BatchSource,
    batchSize: number,
    preprocess?: Preprocess,
  ): Promise<LossAccuracy> {
    const { split, model } = this;
    const sums = new LossSums(source.numClasses);
    if (this.kept) {
      for (const b of this.kept) {
        await sums.add(() => {
          const values = split.frontier.map((t, i) =>
            tf.tensor(b.frontier[i]!, [b.n, ...t.shape.slice(1).map((d) => d ?? 1)]),
          );
          return split.runSuffix(values) as tf.Tensor2D;
        }, b.labels);
        await new Promise((r) => setImmediate(r));
      }
      return sums.result(model);
    }
    const kept: KeptBatch[] = [];
    for await (const batch of source.batches(0, inferenceBatchSize(model, batchSize))) {
      await sums.add(() => {
        const frontier = split.runPrefix(batchInput(batch, preprocess));
        kept.push({
          frontier: frontier.map(copyValues),
          labels: batch.labels.slice(),
          n: batch.n,
        });
        return split.runSuffix(frontier) as tf.Tensor2D;
      }, batch.labels);
      await new Promise((r) => setImmediate(r));
    }
    this.kept = kept;
    return sums.result(model);
  }
}
