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
