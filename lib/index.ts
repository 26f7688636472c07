/**
 * The public API of artstyle-lab (`require('artstyle-lab')`, `import { ... } from 'artstyle-lab'`):
 * what a user scripts against, layer by layer as lib/ stacks them. Models, the trainer and the
 * metrics are exported flat; data preparation, features and the two studies' steps and views by
 * namespace, because their names only make sense next to their module's.
 */

// Backends and the shared error type.
export { selectBackend, BACKEND_ORDER, type BackendSelection } from './backend/select';
// The wasm training kernels (SIMD by default, or XNNPACK's compositions with
// ARTSTYLE_WASM_KERNELS=composed) are not exported here: importing lib/backend/wasm-gradients
// registers the wasm backend, which a plain import of the package must not do.
export { ArtstyleError, check } from './util/errors';
export { memoryErrorKind, outOfMemoryError, type MemoryContext } from './util/out-of-memory';
export { Rng } from './util/rng';

// Configuration: the profiles and their validation.
export * from './config';

// Data: scanning, resizing (cached), splitting, batches.
export * as data from './data';

// Models: Xception, ResNet50, the head, freezing by block, weight files.
export * from './models';
export { inferenceBatchSize } from './models/memory';
// The same constant as config's (config may not import models); one name in the API.
export { XCEPTION_BLOCKS } from './models';

// The trainer: fit(spec, callbacks), train(), the step seam (whole batch, micro-batches, worker
// threads), checkpoints, the sweep and its units.
export * from './train';

// Metrics: classification and multi-label metrics, intervals, McNemar.
export * from './eval/classification';
export * from './eval/multilabel';
export * from './eval/stats';

// Figures.
export * from './plots';

// Features and PCA (study 2's first half).
export * as features from './features';

// The studies' steps (what the notebooks and the CLI call), their parameters and views.
export { resolveParams, defaultParams, type RunParams } from './pipeline/params';
export * as study1 from './pipeline/study1';
export * as recipes1 from './pipeline/recipes';
export * as views1 from './pipeline/views1';
export * as study2 from './pipeline/study2';
