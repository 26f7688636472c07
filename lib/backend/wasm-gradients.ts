/**
 * Training gradients for the TensorFlow.js `wasm` backend.
 *
 * tfjs-backend-wasm 4.22 runs conv2d and depthwiseConv2d forward through XNNPACK at native-like
 * speed, but registers no `Conv2DBackpropFilter`, `DepthwiseConv2dNativeBackpropFilter` or
 * `DepthwiseConv2dNativeBackpropInput` kernel (tfjs issue #8474), so no convolutional network can
 * train on it; its `Conv2DBackpropInput` exists but is a plain loop (~1.9 GFLOP/s against ~22 for
 * the forward conv). This module registers all four, each composed from wasm's own fast kernels
 * (Conv2D, DepthwiseConv2dNative, BatchMatMul, Transpose, PadV2) plus block copies on the wasm
 * heap: every gradient of a convolution is itself a convolution once the right axes are swapped,
 * so the heavy arithmetic stays in XNNPACK and only cheap memory moves are added.
 *
 * Two more wasm kernels that every training step runs are replaced: MaxPoolGrad, which is wrong
 * on 4.22 (see maxPoolGrad), and Tile, which is slow enough to dominate a step (see tile).
 *
 * Notation, all NHWC: x [n, h, w, ci], filter [fh, fw, ci, co], dy [n, oh, ow, co], strides
 * (sh, sw), top/left padding (pt, pl). The forward convolution is
 *
 *   y[b, i, j, o] = sum_{a, c, d} x[b, i*sh + a - pt, j*sw + c - pl, d] * filter[a, c, d, o]
 *
 * with x read as zero outside its bounds. Supported: NHWC, dilation 1, depth multiplier 1, any
 * strides, 'same'/'valid'/numeric/explicit padding (everything Xception and ResNet50 use). Other
 * attributes throw an Error naming the kernel and the attribute.
 */
import * as tf from '@tensorflow/tfjs';
// Loaded first so that the package has registered its own kernels before registerWasmGradients
// replaces some of them; importing it later would silently put the originals back.
import '@tensorflow/tfjs-backend-wasm';
import {
  address,
  columnSum,
  depthwiseFilterGradient,
  kernels,
  type DepthwiseGeometry,
  type WasmHeapBackend,
} from './train-kernels';
import {
  parseWasmKernelSet,
  setWasmKernelSet,
  wasmKernelSet,
  type WasmKernelSet,
} from './kernel-set';

export { parseWasmKernelSet, setWasmKernelSet, wasmKernelSet, type WasmKernelSet };

type Info = tf.TensorInfo;
type Shape4 = [number, number, number, number];
type Pads = [[number, number], [number, number], [number, number], [number, number]];

/** The part of tfjs-backend-wasm's BackendWasm this module relies on. */
interface WasmBackendLike {
  disposeData(dataId: object): boolean;
  /** A copy of a tensor's values. */
  readSync(dataId: object): unknown;
  /** A fresh, uninitialised tensor on the wasm heap. */
  makeOutput(shape: number[], dtype: tf.DataType): Info;
  /** A live view of a tensor's values on the heap (invalid once the heap grows). */
  typedArrayFromHeap(info: Info): unknown;
}

/** Geometry of one 2-D convolution, as the gradient kernels need it (the SIMD kernels' type). */
type ConvGeometry = DepthwiseGeometry;

const BACKEND = 'wasm';

/**
 * Runs wasm kernels on behalf of one composed kernel and remembers every intermediate result, so
 * that all of them are freed once the composed kernel is done (or has thrown). Intermediates are
 * never seen by the engine, so nothing else would free them; XNNPACK also keeps a prepacked
 * operator per conv filter until that filter's data is disposed.
 */
class Composer {
  private readonly temps: Info[] = [];

  constructor(readonly backend: WasmBackendLike) {}

  run(kernelName: string, inputs: tf.NamedTensorInfoMap, attrs: object): Info {
    const config = tf.getKernel(kernelName, BACKEND);
    if (!config) throw new Error(`wasm gradients: the wasm backend has no '${kernelName}' kernel`);
    const out = config.kernelFunc({
      inputs,
      backend: this.backend,
      attrs: attrs as tf.NamedAttrMap,
    }) as Info;
    this.temps.push(out);
    return out;
  }

  transpose(x: Info, perm: number[]): Info {
    return this.run(tf.Transpose, { x }, { perm });
  }

  /** Zero padding; `paddings` entries may not be negative. A no-op when they are all zero. */
  pad(x: Info, paddings: Array<[number, number]>): Info {
    if (paddings.every(([before, after]) => before === 0 && after === 0)) return x;
    return this.run(tf.PadV2, { x }, { paddings, constantValue: 0 });
  }

  /**
   * A no-op when the slice is the whole tensor. wasm's Slice copies one innermost row at a time
   * (often only n or ci floats here); this copies maximal contiguous runs instead: everything
   * after the last cropped axis is contiguous in both tensors.
   */
  slice(x: Info, begin: number[], size: number[]): Info {
    if (begin.every((b) => b === 0) && size.every((s, i) => s === x.shape[i])) return x;
    const out = this.backend.makeOutput(size, x.dtype);
    this.temps.push(out);
    const src = this.backend.typedArrayFromHeap(x) as Float32Array;
    const dst = this.backend.typedArrayFromHeap(out) as Float32Array;
    const rank = x.shape.length;
    const strides = new Array<number>(rank).fill(1);
    for (let k = rank - 2; k >= 0; k--) strides[k] = strides[k + 1]! * x.shape[k + 1]!;
    let last = rank - 1;
    while (last > 0 && size[last] === x.shape[last]) last--;
    const run = size[last]! * strides[last]!;
    const index = new Array<number>(last).fill(0);
    for (let written = 0; written < dst.length; written += run) {
      let from = begin[last]! * strides[last]!;
      for (let k = 0; k < last; k++) from += (begin[k]! + index[k]!) * strides[k]!;
      dst.set(src.subarray(from, from + run), written);
      for (let k = last - 1; k >= 0; k--) {
        if (++index[k]! < size[k]!) break;
        index[k] = 0;
      }
    }
    return out;
  }

  /**
   * The filter of the input-gradient convolution: flipped in both spatial axes and, for a dense
   * conv, with its channel axes swapped ([fh, fw, ci, co] -> [fh, fw, co, ci]). Filters are
   * small, so one JavaScript pass beats wasm's Reverse (a per-element loop) plus a Transpose.
   */
  flipFilter(filter: Info, swapChannels: boolean): Info {
    const [fh, fw, ci, co] = filter.shape as Shape4;
    const outShape = swapChannels ? [fh, fw, co, ci] : [fh, fw, ci, co];
    const out = this.backend.makeOutput(outShape, filter.dtype);
    this.temps.push(out);
    const src = this.backend.typedArrayFromHeap(filter) as Float32Array;
    const dst = this.backend.typedArrayFromHeap(out) as Float32Array;
    for (let a = 0; a < fh; a++) {
      for (let b = 0; b < fw; b++) {
        const from = ((fh - 1 - a) * fw + (fw - 1 - b)) * ci * co;
        const to = (a * fw + b) * ci * co;
        if (!swapChannels) {
          dst.set(src.subarray(from, from + ci * co), to);
          continue;
        }
        for (let d = 0; d < ci; d++)
          for (let o = 0; o < co; o++) dst[to + o * ci + d] = src[from + d * co + o]!;
      }
    }
    return out;
  }

  /** [batch, m, k] x [batch, k, n]; neither operand transposed (see pointwiseBackpropFilter). */
  matMul(a: Info, b: Info): Info {
    return this.run(tf.BatchMatMul, { a, b }, { transposeA: false, transposeB: false });
  }

  conv2d(x: Info, filter: Info, pad: Pads, dilations: [number, number]): Info {
    return this.run(
      tf.Conv2D,
      { x, filter },
      { strides: [1, 1], pad, dataFormat: 'NHWC', dilations, dimRoundingMode: undefined },
    );
  }

  depthwiseConv2d(x: Info, filter: Info, pad: Pads, dilations: [number, number]): Info {
    return this.run(
      tf.DepthwiseConv2dNative,
      { x, filter },
      { strides: [1, 1], pad, dataFormat: 'NHWC', dilations, dimRoundingMode: undefined },
    );
  }

  /** Frees every intermediate except `keep` (the composed kernel's result). */
  disposeExcept(keep: Info | undefined): void {
    for (const t of this.temps) {
      if (keep === undefined || t.dataId !== keep.dataId) this.backend.disposeData(t.dataId);
    }
    this.temps.length = 0;
  }
}

/** Runs `body` with a Composer and frees its intermediates whatever happens. */
function compose(backend: unknown, body: (c: Composer) => Info): Info {
  const c = new Composer(backend as WasmBackendLike);
  let result: Info | undefined;
  try {
    result = body(c);
    return result;
  } finally {
    c.disposeExcept(result);
  }
}

/**
 * The same data seen with another shape. NHWC tensors are dense row-major buffers, so merging or
 * splitting adjacent axes needs no copy; the view shares the dataId and is never disposed itself.
 */
function view(t: Info, shape: number[]): Info {
  return { dataId: t.dataId, shape, dtype: t.dtype };
}

function unsupported(kernel: string, attribute: string, value: unknown, supported: string): Error {
  return new Error(
    `${kernel} on the wasm backend (lib/backend/wasm-gradients): ${attribute}=` +
      `${JSON.stringify(value)} is not supported; supported: ${supported}`,
  );
}

function checkAttrs(
  kernel: string,
  attrs: { dataFormat?: string; dilations?: number | number[] },
  filterShape: number[],
  depthwise: boolean,
): void {
  if (attrs.dataFormat !== undefined && attrs.dataFormat !== 'NHWC')
    throw unsupported(kernel, 'dataFormat', attrs.dataFormat, "'NHWC'");
  const d = attrs.dilations;
  if (d !== undefined && d !== null && !(Array.isArray(d) ? d.every((v) => v === 1) : d === 1))
    throw unsupported(kernel, 'dilations', d, '1');
  if (depthwise && filterShape[3] !== 1)
    throw unsupported(kernel, 'depth multiplier (filterShape[3])', filterShape[3], '1');
}

function geometry(
  xShape: Shape4,
  filterShape: Shape4,
  attrs: {
    strides: [number, number] | number;
    pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
  },
  depthwise: boolean,
): ConvGeometry {
  const info = tf.backend_util.computeConv2DInfo(
    xShape,
    filterShape,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    depthwise,
    'channelsLast',
  );
  return {
    batch: info.batchSize,
    inHeight: info.inHeight,
    inWidth: info.inWidth,
    outHeight: info.outHeight,
    outWidth: info.outWidth,
    filterHeight: info.filterHeight,
    filterWidth: info.filterWidth,
    strideHeight: info.strideHeight,
    strideWidth: info.strideWidth,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
  };
}

/**
 * Moves axes 1 and 2 (rows, columns) of a 4-D tensor so that element [.., k, l, ..] lands at
 * [.., k + before[0], l + before[1], ..] in a result of `length` rows and columns. Negative
 * amounts crop (one Slice); positive amounts are returned for the caller to pad, either with a
 * convolution's own padding (free) or with PadV2.
 */
function cropToFit(
  c: Composer,
  t: Info,
  before: [number, number],
  length: [number, number],
): { t: Info; pads: [[number, number], [number, number]] } {
  const begin = [0, 0, 0, 0];
  const size = [...t.shape];
  const pads: [[number, number], [number, number]] = [
    [0, 0],
    [0, 0],
  ];
  for (const k of [0, 1]) {
    const axis = k + 1;
    let start = 0;
    let pre = before[k]!;
    if (pre < 0) {
      start = -pre;
      pre = 0;
    }
    // Rows of t that land inside [0, length) after shifting by `before`.
    const kept = Math.max(0, Math.min(t.shape[axis]! - start, length[k]! - pre));
    begin[axis] = start;
    size[axis] = kept;
    pads[k] = [pre, length[k]! - pre - kept];
  }
  return { t: c.slice(t, begin, size), pads };
}

/**
 * Inserts (sh - 1) zero rows after every row and (sw - 1) zero columns after every column:
 * [n, h, w, ch] -> [n, h*sh, w*sw, ch]. Seen as [n, h, 1, w, 1, ch], this is a single PadV2 of
 * axes 2 and 4, with no strided scatter needed.
 */
function dilate(c: Composer, t: Info, sh: number, sw: number): Info {
  if (sh === 1 && sw === 1) return t;
  const [n, h, w, ch] = t.shape as Shape4;
  const padded = c.pad(view(t, [n, h, 1, w, 1, ch]), [
    [0, 0],
    [0, 0],
    [0, sh - 1],
    [0, 0],
    [0, sw - 1],
    [0, 0],
  ]);
  return view(padded, [n, h * sh, w * sw, ch]);
}

/**
 * Gradient with respect to the input of a conv2d (depthwise = false) or a depthwise conv2d with
 * multiplier 1 (depthwise = true).
 *
 * From the forward formula, dx[b, r, s, d] collects dy[b, i, j, o] * filter[a, c, d, o] over all
 * (i, a) with i*sh + a - pt = r (same for columns). Let dyd be dy with (sh - 1) zeros inserted
 * after each row (and likewise columns), so dyd[u] = dy[u / sh] when sh divides u; then u = r + pt
 * - a, and with a' = fh - 1 - a:
 *
 *   dx[b, r, s, d] = sum_{a', c', o} dyd[b, r + a' - (fh - 1 - pt), s + c' - (fw - 1 - pl), o]
 *                                   * filter[fh - 1 - a', fw - 1 - c', d, o]
 *
 * which is a stride-1 convolution of dyd, padded by fh - 1 - pt on top (fw - 1 - pl left), with
 * the filter flipped in both spatial axes and its channel axes swapped to [fh, fw, co, ci] (the
 * conv now maps dy's co channels to x's ci). For a depthwise filter [fh, fw, c, 1] the flip alone
 * suffices: each channel only ever meets itself.
 *
 * The zero insertion wastes (sh*sw - 1)/(sh*sw) of the multiply-adds when the stride is above 1,
 * but those layers are rare (a handful of stride-2 3x3 convs per network); 1x1 kernels, which
 * ResNet50 and Xception use for every stride-2 shortcut, avoid it: a 1x1 conv is pointwise, so it
 * commutes with the zero insertion and runs on the small, undilated dy first.
 */
function backpropInput(
  c: Composer,
  dy: Info,
  filter: Info,
  g: ConvGeometry,
  depthwise: boolean,
): Info {
  const pointwise = g.filterHeight === 1 && g.filterWidth === 1;
  const kernel = depthwise && pointwise ? filter : c.flipFilter(filter, !depthwise);
  const conv = (x: Info, pads: Pads): Info =>
    depthwise ? c.depthwiseConv2d(x, kernel, pads, [1, 1]) : c.conv2d(x, kernel, pads, [1, 1]);
  const noPads: Pads = [
    [0, 0],
    [0, 0],
    [0, 0],
    [0, 0],
  ];

  if (g.filterHeight === 1 && g.filterWidth === 1) {
    // dx[b, i*sh - pt, j*sw - pl, :] = (dy @ filter^T)[b, i, j, :]; every other dx is zero.
    const projected = conv(dy, noPads);
    const spread = dilate(c, projected, g.strideHeight, g.strideWidth);
    const fit = cropToFit(c, spread, [-g.padTop, -g.padLeft], [g.inHeight, g.inWidth]);
    return c.pad(fit.t, [[0, 0], ...fit.pads, [0, 0]]);
  }

  const dyd = dilate(c, dy, g.strideHeight, g.strideWidth);
  // The conv output has inHeight rows when its padded input has inHeight + fh - 1 rows.
  const fit = cropToFit(
    c,
    dyd,
    [g.filterHeight - 1 - g.padTop, g.filterWidth - 1 - g.padLeft],
    [g.inHeight + g.filterHeight - 1, g.inWidth + g.filterWidth - 1],
  );
  return conv(fit.t, [[0, 0], ...fit.pads, [0, 0]]);
}

/**
 * Conv2DBackpropFilter as ONE conv2d with the batch and channel axes swapped.
 *
 *   dfilter[a, c, d, o] = sum_{b, i, j} x[b, i*sh + a - pt, j*sw + c - pl, d] * dy[b, i, j, o]
 *
 * Read x transposed to xt[d, r, s, b] as a batch of ci images with n channels, and dy transposed
 * to dyt[i, j, b, o] as an (oh x ow) filter from n to co channels: then
 *
 *   dfilter[a, c, d, o] = sum_{i, j, b} xt[d, a + i*sh - pt, c + j*sw - pl, b] * dyt[i, j, b, o]
 *
 * is exactly a conv2d of xt with filter dyt, stride 1 and dilation (sh, sw) (the forward stride
 * becomes the spacing between the filter's taps), padded by pt on top and pl on the left, whose
 * [ci, fh, fw, co] output, transposed back, is the filter gradient. The sum over batch and
 * positions becomes XNNPACK's inner product, so it runs at forward-conv speed instead of as an
 * im2col or a loop. Rows past the last one any tap reads are cropped so that the output has
 * exactly fh rows; missing ones are supplied as padding.
 */
function conv2dBackpropFilter(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): Info {
  const { x, dy } = args.inputs as { x: Info; dy: Info };
  const attrs = args.attrs as unknown as tf.Conv2DBackpropFilterAttrs & {
    dilations?: number | number[];
  };
  checkAttrs(tf.Conv2DBackpropFilter, attrs, attrs.filterShape, false);
  const g = geometry(x.shape as Shape4, attrs.filterShape, attrs, false);
  if (g.filterHeight === 1 && g.filterWidth === 1 && g.padTop === 0 && g.padLeft === 0)
    return compose(args.backend, (c) => pointwiseBackpropFilter(c, x, dy, g));
  return compose(args.backend, (c) => {
    const xt = c.transpose(x, [3, 1, 2, 0]); // [ci, h, w, n]
    const dyt = c.transpose(dy, [1, 2, 0, 3]); // [oh, ow, n, co]
    const fit = cropToFit(
      c,
      xt,
      [g.padTop, g.padLeft],
      [
        (g.outHeight - 1) * g.strideHeight + g.filterHeight,
        (g.outWidth - 1) * g.strideWidth + g.filterWidth,
      ],
    );
    const grad = c.conv2d(
      fit.t,
      dyt,
      [[0, 0], ...fit.pads, [0, 0]],
      [g.strideHeight, g.strideWidth],
    ); // [ci, fh, fw, co]
    return c.transpose(grad, [1, 2, 0, 3]);
  });
}

/**
 * Conv2DBackpropFilter for a 1x1 filter without padding (every 1x1 conv of ResNet50 and Xception,
 * stride 1 or 2), as a matrix product. Here
 *
 *   dfilter[0, 0, d, o] = sum_{b, i, j} x[b, i*sh, j*sw, d] * dy[b, i, j, o] = (xs^T dy)[d, o]
 *
 * with xs the [P = n*oh*ow, ci] matrix of the x pixels the filter saw (every sh-th row, sw-th
 * column) and dy read as [P, co]. The swapped-axes conv would also compute this, but as a conv
 * with one output pixel per image and an (oh x ow)-tap filter of only n channels, which XNNPACK
 * runs at a quarter of its speed. wasm's BatchMatMul reaches XNNPACK's fully-connected kernel only
 * when neither operand is transposed (its transposeA path is a loop, ~2 GFLOP/s), so xs^T is
 * built explicitly; wasm's StridedSlice and rank-6 Transpose are slow generic loops too, so the
 * stride is taken by transposes of rank <= 4 and prefix views:
 *
 *   x, cropped/padded to [n, oh*sh, ow*sw, ci], is [n*oh, sh, ow, sw*ci];
 *   transposed to [sh, n*oh, ow, sw*ci], its first block (row offset 0) is [P, sw, ci];
 *   that, transposed to [sw, ci, P], starts with the column-offset-0 block: xs^T, [ci, P].
 *
 * With stride 1 and ci > co it is cheaper to transpose dy instead and the small result after.
 */
function pointwiseBackpropFilter(c: Composer, x: Info, dy: Info, g: ConvGeometry): Info {
  const ci = x.shape[3]!;
  const co = dy.shape[3]!;
  const { batch: n, outHeight: oh, outWidth: ow, strideHeight: sh, strideWidth: sw } = g;
  const pixels = n * oh * ow;
  if (sh === 1 && sw === 1 && ci > co) {
    const dyT = c.transpose(view(dy, [pixels, co]), [1, 0]); // [co, P]
    const gradT = c.matMul(view(dyT, [1, co, pixels]), view(x, [1, pixels, ci])); // [1, co, ci]
    return view(c.transpose(gradT, [0, 2, 1]), [1, 1, ci, co]);
  }
  const fit = cropToFit(c, x, [0, 0], [oh * sh, ow * sw]);
  const grid = c.pad(fit.t, [[0, 0], ...fit.pads, [0, 0]]); // [n, oh*sh, ow*sw, ci]
  const rows = sh === 1 ? grid : c.transpose(view(grid, [n * oh, sh, ow, sw * ci]), [1, 0, 2, 3]);
  const xsT = c.transpose(view(rows, [pixels, sw, ci]), [1, 2, 0]); // [sw, ci, P]
  const grad = c.matMul(view(xsT, [1, ci, pixels]), view(dy, [1, pixels, co])); // [1, ci, co]
  return view(grad, [1, 1, ci, co]);
}

/**
 * DepthwiseConv2dNativeBackpropFilter (multiplier 1) as ONE depthwise conv2d.
 *
 *   dfilter[a, c, d, 0] = sum_{b, i, j} x[b, i*sh + a - pt, j*sw + c - pl, d] * dy[b, i, j, d]
 *
 * Channels stay separate, so unlike the dense case the batch cannot become the contracted channel
 * axis; instead it is laid out along the rows. Each image, padded to hp = R*sh rows (R >= oh, hp
 * covering every row a tap reads), is stacked into one tall image X[0, b*hp + r, s, d]; dy, padded
 * with zero rows to R per image, is read as a [n*R, ow, c, 1] depthwise filter K[b*R + i, j, d].
 * A depthwise conv with dilation (sh, sw) then computes
 *
 *   out[a, c, d] = sum_{b, i, j} X[b*hp + i*sh + a, j*sw + c, d] * K[b*R + i, j, d]
 *
 * because (b*R + i)*sh = b*hp + i*sh: filter row b*R + i meets image b exactly where the forward
 * conv's output row i did, and the zero rows i >= oh keep images from mixing. The output has max(sh,
 * fh) rows (extra ones, for 1x1 filters with stride 2, are cropped).
 */
function depthwiseBackpropFilter(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): Info {
  const { x, dy } = args.inputs as { x: Info; dy: Info };
  const attrs = args.attrs as unknown as tf.DepthwiseConv2dNativeBackpropFilterAttrs & {
    dataFormat?: string;
  };
  const kernel = tf.DepthwiseConv2dNativeBackpropFilter;
  checkAttrs(kernel, attrs, attrs.filterShape, true);
  const g = geometry(x.shape as Shape4, attrs.filterShape, attrs, true);
  const channels = x.shape[3]!;
  const { batch: n, strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw } = g;
  const rowsRead = (g.outHeight - 1) * sh + fh;
  const perImage = Math.ceil(rowsRead / sh); // R
  const hp = perImage * sh;
  const colsRead = (g.outWidth - 1) * sw + fw;
  if (wasmKernelSet() === 'simd') {
    const fast = depthwiseFilterGradient(args.backend, x, dy, g);
    if (fast) return fast;
  }
  return compose(args.backend, (c) => {
    const fit = cropToFit(c, x, [g.padTop, g.padLeft], [hp, colsRead]);
    const images = c.pad(fit.t, [[0, 0], ...fit.pads, [0, 0]]); // [n, hp, colsRead, c]
    const stacked = view(images, [1, n * hp, colsRead, channels]);
    const dyRows = c.pad(dy, [
      [0, 0],
      [0, perImage - g.outHeight],
      [0, 0],
      [0, 0],
    ]);
    const filter = view(dyRows, [n * perImage, g.outWidth, channels, 1]);
    // Output row a reads stacked rows up to (n*R - 1)*sh + a: the last image needs fh - sh more.
    const extra = Math.max(0, fh - sh);
    const grad = c.depthwiseConv2d(
      stacked,
      filter,
      [
        [0, 0],
        [0, extra],
        [0, 0],
        [0, 0],
      ],
      [sh, sw],
    ); // [1, max(sh, fh), fw, c]
    const rows = c.slice(grad, [0, 0, 0, 0], [1, fh, fw, channels]);
    return view(rows, [fh, fw, channels, 1]);
  });
}

/** Conv2DBackpropInput, replacing wasm's own loop-based kernel; see backpropInput. */
function conv2dBackpropInput(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): Info {
  const { dy, filter } = args.inputs as { dy: Info; filter: Info };
  const attrs = args.attrs as unknown as tf.Conv2DBackpropInputAttrs & {
    dilations?: number | number[];
  };
  checkAttrs(tf.Conv2DBackpropInput, attrs, filter.shape, false);
  const g = geometry(attrs.inputShape, filter.shape as Shape4, attrs, false);
  return compose(args.backend, (c) => backpropInput(c, dy, filter, g, false));
}

/** DepthwiseConv2dNativeBackpropInput (multiplier 1); see backpropInput. */
function depthwiseBackpropInput(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): Info {
  const { dy, filter } = args.inputs as { dy: Info; filter: Info };
  const attrs = args.attrs as unknown as tf.DepthwiseConv2dNativeBackpropInputAttrs & {
    dataFormat?: string;
  };
  checkAttrs(tf.DepthwiseConv2dNativeBackpropInput, attrs, filter.shape, true);
  const g = geometry(attrs.inputShape, filter.shape as Shape4, attrs, true);
  return compose(args.backend, (c) => backpropInput(c, dy, filter, g, true));
}

/**
 * MaxPoolGrad, replacing wasm's own: tfjs-backend-wasm 4.22's MaxPoolGrad (like its
 * MaxPoolWithArgmax) loses the gradient of every window whose maximum is negative, as if the
 * running maximum started at 0 instead of -infinity. Xception's max pools follow a batch norm, so
 * such windows are common there and training on wasm silently diverges from every other backend.
 *
 * The gradient routes each dy value to the first maximal pixel of its window in row-major order,
 * ignoring padding, exactly as the cpu backend does (so ties break identically). Max pooling
 * costs a few comparisons per value, so a JavaScript loop over the wasm heap is cheap next to the
 * convolutions; channels run innermost to follow the NHWC layout.
 */
function maxPoolGrad(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): Info {
  const { dy, input } = args.inputs as { dy: Info; input: Info };
  const attrs = args.attrs as unknown as tf.MaxPoolGradAttrs;
  const backend = args.backend as WasmBackendLike;
  const info = tf.backend_util.computePool2DInfo(
    input.shape as Shape4,
    attrs.filterSize,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: ch } = info;
  const { outHeight: oh, outWidth: ow, strideHeight: sh, strideWidth: sw } = info;
  const { filterHeight: fh, filterWidth: fw } = info;
  const out = backend.makeOutput(input.shape, 'float32');
  const dx = backend.typedArrayFromHeap(out) as Float32Array;
  dx.fill(0);
  const ex =
    wasmKernelSet() === 'simd' && ch % 4 === 0
      ? kernels(backend as unknown as WasmHeapBackend)
      : null;
  if (ex) {
    const at = (t: Info) => address(backend as unknown as WasmHeapBackend, t);
    const { top, left } = info.padInfo;
    ex.maxpoolgrad(at(input), at(dy), at(out), n, h, w, ch, oh, ow, fh, fw, sh, sw, top, left);
    return out;
  }
  const x = backend.readSync(input.dataId) as Float32Array;
  const grad = backend.readSync(dy.dataId) as Float32Array;
  const best = new Float32Array(ch);
  const where = new Int32Array(ch);
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < oh; i++) {
      const r0 = i * sh - info.padInfo.top;
      const rFrom = Math.max(0, r0);
      const rTo = Math.min(h, r0 + fh);
      for (let j = 0; j < ow; j++) {
        const c0 = j * sw - info.padInfo.left;
        const cFrom = Math.max(0, c0);
        const cTo = Math.min(w, c0 + fw);
        best.fill(-Infinity);
        where.fill(-1);
        for (let r = rFrom; r < rTo; r++) {
          for (let c = cFrom; c < cTo; c++) {
            const base = ((b * h + r) * w + c) * ch;
            for (let d = 0; d < ch; d++) {
              const v = x[base + d]!;
              if (v > best[d]!) {
                best[d] = v;
                where[d] = base + d;
              }
            }
          }
        }
        const dyBase = ((b * oh + i) * ow + j) * ch;
        for (let d = 0; d < ch; d++) {
          const at = where[d]!;
          if (at >= 0) dx[at] = dx[at]! + grad[dyBase + d]!;
        }
      }
    }
  }
  return out;
}

type Numeric = Float32Array | Int32Array | Uint8Array;

/**
 * Tile, replacing wasm's own generic per-element loop (~10 ms to tile a per-channel vector over
 * an 8x46x46x16 activation). tfjs's batch-norm gradient tiles per-channel vectors up to the full
 * activation shape several times per layer, so on wasm Tile took a third of an Xception training
 * step. Tiling is pure copying, done here with block copies on the wasm heap: the input is laid
 * into the first tile, and each axis, innermost first, is then repeated by doubling copies.
 */
function tile(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): Info {
  const { x } = args.inputs as { x: Info };
  const { reps } = args.attrs as unknown as tf.TileAttrs;
  const backend = args.backend as WasmBackendLike;
  const rank = x.shape.length;
  const outShape = x.shape.map((d, i) => d * reps[i]!);
  const out = backend.makeOutput(outShape, x.dtype);
  if (outShape.some((d) => d === 0)) return out;
  // Views are taken after makeOutput, which may grow (and so detach) the heap.
  const src = backend.typedArrayFromHeap(x) as Numeric;
  const dst = backend.typedArrayFromHeap(out) as Numeric;
  const inStrides = new Array<number>(rank).fill(1);
  const outStrides = new Array<number>(rank).fill(1);
  for (let k = rank - 2; k >= 0; k--) {
    inStrides[k] = inStrides[k + 1]! * x.shape[k + 1]!;
    outStrides[k] = outStrides[k + 1]! * outShape[k + 1]!;
  }
  /** Fills out[dstOffset...] with the tiled block of axes k.. of x[srcOffset...]. */
  const fill = (k: number, srcOffset: number, dstOffset: number): void => {
    const dim = x.shape[k]!;
    if (k === rank - 1) {
      dst.set(src.subarray(srcOffset, srcOffset + dim) as never, dstOffset);
    } else {
      for (let i = 0; i < dim; i++)
        fill(k + 1, srcOffset + i * inStrides[k]!, dstOffset + i * outStrides[k]!);
    }
    // The first of reps[k] copies along axis k is in place; double it until all are.
    const block = dim * outStrides[k]!;
    const total = block * reps[k]!;
    for (let done = block; done < total; done *= 2)
      dst.copyWithin(dstOffset + done, dstOffset, dstOffset + Math.min(done, total - done));
  };
  if (rank === 0) dst[0] = src[0]!;
  else fill(0, 0, 0);
  return out;
}

// wasm's own Identity and Cast, kept before registration replaces them (see shareData).
const WASM_COPIES = new Map(
  [tf.Identity, tf.Cast].map((name) => [name, tf.getKernel(name, BACKEND)] as const),
);

/**
 * Identity, and Cast to the dtype a tensor already has, as the cpu backend does them: the result
 * shares the input's data (a reference count more) instead of a copy. tfjs's engine clones every
 * tensor it saves for a gradient (and tfjs's gradients cast their inputs to float32), so wasm's
 * copying kernels made a full-size copy of most activations of a training step, about 2,000 per
 * teaching step, and held them on the heap until the backward pass. No kernel writes into its
 * inputs, so sharing is safe; reshape on wasm already shares the same way.
 */
function shareData(name: string): tf.KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: Info };
    const dtype = (args.attrs as { dtype?: tf.DataType } | undefined)?.dtype ?? x.dtype;
    if (wasmKernelSet() === 'simd' && dtype === x.dtype && x.dtype !== 'string') {
      (args.backend as { incRef(dataId: object): void }).incRef(x.dataId);
      return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
    }
    const own = WASM_COPIES.get(name);
    if (!own) throw new Error(`wasm gradients: the wasm backend has no '${name}' kernel`);
    return own.kernelFunc(args) as Info;
  };
}

// wasm's own Sum and Mean, kept before registration replaces them: the replacements run them for
// every case they do not cover. Their setup (binding the wasm functions) must still run.
const WASM_REDUCTIONS = new Map(
  [tf.Sum, tf.Mean].map((name) => [name, tf.getKernel(name, BACKEND)] as const),
);
const reductionSetUp = new WeakMap<object, Set<string>>();

function wasmReduction(name: string, backend: object): tf.KernelConfig {
  const own = WASM_REDUCTIONS.get(name);
  if (!own) throw new Error(`wasm gradients: the wasm backend has no '${name}' kernel`);
  const done = reductionSetUp.get(backend) ?? new Set<string>();
  reductionSetUp.set(backend, done);
  if (!done.has(name)) {
    own.setupFunc?.(backend as tf.KernelBackend);
    done.add(name);
  }
  return own;
}

/**
 * Sum and Mean over the leading axes of a float32 tensor (what batch norm and its gradient reduce:
 * every axis but the channels) by the SIMD column sum of lib/backend/train-kernels.ts; anything
 * else, and everything when the kernel set is 'composed', goes to wasm's own kernel.
 */
function leadingReduction(name: string): tf.KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: Info };
    const { axis, keepDims } = args.attrs as unknown as {
      axis: number | number[];
      keepDims: boolean;
    };
    const backend = args.backend as object;
    if (wasmKernelSet() === 'simd') {
      const axes = tf.util.parseAxisParam(axis, x.shape).sort((a, b) => a - b);
      const leading = axes.length;
      if (leading > 0 && leading < x.shape.length && axes.every((a, i) => a === i)) {
        const kept = x.shape.slice(leading);
        const outShape = keepDims ? [...axes.map(() => 1), ...kept] : kept;
        const out = columnSum(backend, x, leading, outShape, name === tf.Mean);
        if (out) return out;
      }
    }
    return wasmReduction(name, backend).kernelFunc(args) as Info;
  };
}

const KERNELS: Array<{ kernelName: string; kernelFunc: tf.KernelFunc }> = [
  { kernelName: tf.Sum, kernelFunc: leadingReduction(tf.Sum) },
  { kernelName: tf.Mean, kernelFunc: leadingReduction(tf.Mean) },
  { kernelName: tf.Conv2DBackpropFilter, kernelFunc: conv2dBackpropFilter as tf.KernelFunc },
  { kernelName: tf.Conv2DBackpropInput, kernelFunc: conv2dBackpropInput as tf.KernelFunc },
  {
    kernelName: tf.DepthwiseConv2dNativeBackpropFilter,
    kernelFunc: depthwiseBackpropFilter as tf.KernelFunc,
  },
  {
    kernelName: tf.DepthwiseConv2dNativeBackpropInput,
    kernelFunc: depthwiseBackpropInput as tf.KernelFunc,
  },
  { kernelName: tf.MaxPoolGrad, kernelFunc: maxPoolGrad as tf.KernelFunc },
  { kernelName: tf.Tile, kernelFunc: tile as tf.KernelFunc },
  { kernelName: tf.Identity, kernelFunc: shareData(tf.Identity) },
  { kernelName: tf.Cast, kernelFunc: shareData(tf.Cast) },
];

/** The kernels this module registers for 'wasm', for tests and benchmarks. */
export const WASM_GRADIENT_KERNELS: readonly string[] = KERNELS.map((k) => k.kernelName);

/**
 * Registers the composed gradient kernels for the 'wasm' backend (replacing wasm's own slow
 * Conv2DBackpropInput). Idempotent; may be called before or after the wasm backend initializes,
 * since tfjs looks kernels up in a global registry at every call.
 */
export function registerWasmGradients(): void {
  for (const { kernelName, kernelFunc } of KERNELS) {
    const existing = tf.getKernel(kernelName, BACKEND);
    if (existing?.kernelFunc === kernelFunc) continue;
    // registerKernel only warns on a duplicate; unregistering first keeps the log clean.
    if (existing) tf.unregisterKernel(kernelName, BACKEND);
    tf.registerKernel({ kernelName, backendName: BACKEND, kernelFunc });
  }
}
