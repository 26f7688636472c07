import * as tf from '@tensorflow/tfjs';
import { xceptionBlockOf } from './freeze';

export interface ParamCounts {
  total: number;
  trainable: number;
  /** Batch-norm moving statistics and everything frozen. */
  nonTrainable: number;
}

const size = (w: tf.LayerVariable): number => w.shape.reduce((a: number, b) => a * (b ?? 1), 1);

/** Parameter counts as Keras's `model.summary()` reports them. */
export function paramCounts(model: tf.LayersModel | tf.layers.Layer): ParamCounts {
  const trainable = model.trainableWeights.reduce((s, w) => s + size(w), 0);
  const nonTrainable = model.nonTrainableWeights.reduce((s, w) => s + size(w), 0);
  return { total: trainable + nonTrainable, trainable, nonTrainable };
}

export interface SummaryRow {
  name: string;
  className: string;
  /** Output shape without the batch dimension, e.g. `10x10x2048`. */
  outputShape: string;
  params: number;
  trainable: boolean;
  /** Xception block (1..14) for Xception layers, otherwise null. */
  block: number | null;
  /** Names of the layers feeding this one. */
  inputs: string[];
}

function shapeText(shape: tf.Shape | tf.Shape[]): string {
  const one = (s: tf.Shape): string =>
    s
      .slice(1)
      .map((d) => (d === null ? '?' : String(d)))
      .join('x');
  return Array.isArray(shape[0])
    ? (shape as tf.Shape[]).map(one).join(', ')
    : one(shape as tf.Shape);
}

/** One plain row per layer, in the model's (Keras's) order, for tables in notebooks. */
export function modelSummaryRows(model: tf.LayersModel): SummaryRow[] {
  const isXception = model.layers.some((l) => l.name === 'block1_conv1');
  return model.layers.map((layer) => ({
    name: layer.name,
    className: layer.getClassName(),
    outputShape: shapeText(layer.outputShape),
    params: layer.countParams(),
    trainable: layer.trainable,
    block: isXception ? xceptionBlockOf(layer.name) : null,
    inputs: layer.inboundNodes.flatMap((n) => n.inboundLayers.map((l) => l.name)),
  }));
}

/** Number of layers that hold weights (what Keras's weight files count). */
export function weightedLayerCount(model: tf.LayersModel): number {
  return model.layers.filter((l) => l.weights.length > 0).length;
}
