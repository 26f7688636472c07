import * as tf from '@tensorflow/tfjs';

/**
 * A model's variables in an order that does not change when layers are frozen or unfrozen.
 * `model.weights` is trainable-then-non-trainable, so freezing reorders it; checkpoints and the
 * optimizer's slot variables are positional, so they need this stable, layer-by-layer order.
 */
export interface OrderedWeight {
  variable: tf.LayerVariable;
  /** Name without tfjs's per-process uniquifying suffix, for messages. */
  name: string;
  layer: tf.layers.Layer;
  trainable: boolean;
}

function collect(
  layer: tf.layers.Layer,
  out: tf.LayerVariable[],
  owner: Map<tf.LayerVariable, tf.layers.Layer>,
): void {
  const nested = (layer as unknown as { layers?: tf.layers.Layer[] }).layers;
  if (Array.isArray(nested)) {
    for (const child of nested) collect(child, out, owner);
    return;
  }
  for (const w of layer.weights) {
    if (owner.has(w)) continue;
    owner.set(w, layer);
    out.push(w);
  }
}

export function orderedWeights(model: tf.LayersModel): OrderedWeight[] {
  const out: tf.LayerVariable[] = [];
  const owner = new Map<tf.LayerVariable, tf.layers.Layer>();
  for (const layer of model.layers) collect(layer, out, owner);
  const trainable = new Set(model.trainableWeights);
  return out.map((variable) => ({
    variable,
    name: (variable as unknown as { originalName?: string }).originalName ?? variable.name,
    layer: owner.get(variable)!,
    trainable: trainable.has(variable),
  }));
}

/**
 * Keras runs a frozen BatchNormalization layer in inference mode (moving statistics, no updates);
 * tfjs would still normalise with batch statistics and update its moving averages when the model is
 * called with `training: true`. This makes every BatchNormalization layer whose parameters are all
 * frozen behave as Keras does for the duration of a run; the returned function undoes it.
 */
export function frozenBatchNormInference(model: tf.LayersModel): () => void {
  const weights = orderedWeights(model);
  const byLayer = new Map<tf.layers.Layer, boolean>();
  for (const w of weights) {
    if (w.layer.getClassName() !== 'BatchNormalization') continue;
    byLayer.set(w.layer, (byLayer.get(w.layer) ?? false) || w.trainable);
  }
  const restore: (() => void)[] = [];
  for (const [layer, anyTrainable] of byLayer) {
    if (anyTrainable) continue;
    const patched = layer as unknown as {
      call: (inputs: unknown, kwargs: Record<string, unknown>) => unknown;
    };
    const hadOwn = Object.prototype.hasOwnProperty.call(patched, 'call');
    const original = patched.call;
    patched.call = function (inputs: unknown, kwargs: Record<string, unknown>) {
      return original.call(this, inputs, { ...kwargs, training: false });
    };
    restore.push(() => {
      if (hadOwn) patched.call = original;
      else delete (patched as { call?: unknown }).call;
    });
  }
  return () => restore.forEach((r) => r());
}
