/**
 * Training gradients for the wasm backend (Conv2DBackpropFilter, DepthwiseConv2dNativeBackpropFilter,
 * DepthwiseConv2dNativeBackpropInput), composed from wasm's fast kernels. Being written; until then
 * registration adds nothing and wasm can run inference only.
 */
export function registerWasmGradients(): void {}
