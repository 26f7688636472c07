import { check } from '../util/errors';

/**
 * Scales a channel count of the full-size network by `widthMultiplier`, rounded to the nearest
 * multiple of 8 (at least 8): multiples of 8 keep the reduced models friendly to SIMD kernels,
 * and every full-size count of Xception and ResNet50 is already one, so a multiplier of 1 gives
 * exactly Keras's network.
 */
export function scaleChannels(channels: number, widthMultiplier: number): number {
  return Math.max(8, Math.round((channels * widthMultiplier) / 8) * 8);
}

export function checkWidthMultiplier(widthMultiplier: number): void {
  check(
    Number.isFinite(widthMultiplier) && widthMultiplier > 0 && widthMultiplier <= 4,
    'widthMultiplier',
    `expected a number in (0, 4], got ${widthMultiplier}`,
  );
}

export function checkInputSize(inputSize: number, min: number, model: string): void {
  check(
    Number.isInteger(inputSize) && inputSize >= min,
    'inputSize',
    `${model} needs an integer input size of at least ${min} pixels, got ${inputSize}`,
  );
}
