import type { ProfileName } from './names';

/**
 * The settings of the second study (notebook 05), by profile. `full` is the seed's: ResNet50 at
 * 224x224 with the 7x7x2048 map flattened, PCA to 100 components (random_state 42), the SNN
 * [512, 256] with learning rate 0.01 for 20 epochs at batch 32. `teaching` and `smoke` keep the
 * recipe with a narrower ResNet50 (the bundled base's width) and fewer images.
 */
export interface MetadataStudyConfig {
  imageSize: number;
  widthMultiplier: number;
  pooling: 'flatten' | 'avg';
  /** Images per artist at most (null = all), a speed knob for small machines. */
  maxImagesPerArtist: number | null;
  featureBatchSize: number;
  nComponents: number;
  pcaSeed: number;
  /** Share of the paintings (or artists) held out for test; the seed does not say, 0.2 here. */
  testFraction: number;
  snn: { hiddenSizes: [number, number]; learningRate: number; epochs: number; batchSize: number };
  bnn: { nModels: number; epochs: number; gradientClipValue: number; residualThreshold: number };
  adam: { learningRate: number; epochs: number };
  /**
   * Gradient boosting in logit space (lib/mlp/gbnn.ts), not in the seed: `nModels` members of
   * `hiddenSizes` with linear outputs, each trained `epochs` epochs by SGD at `learningRate` on the
   * pseudo-residuals, added with a Newton step per genre and shrinkage.
   */
  gbnn: {
    nModels: number;
    shrinkage: number;
    epochs: number;
    hiddenSizes: [number, number];
    learningRate: number;
  };
  /** The study repeated with `count` seeds (run seed, run seed + 1, ...): split, init and shuffles. */
  seeds: { count: number };
}

const SEED_NETS = {
  snn: {
    hiddenSizes: [512, 256] as [number, number],
    learningRate: 0.01,
    epochs: 20,
    batchSize: 32,
  },
  bnn: { nModels: 3, epochs: 10, gradientClipValue: 0.5, residualThreshold: 1e-3 },
  adam: { learningRate: 0.001, epochs: 20 },
  gbnn: {
    nModels: 10,
    shrinkage: 0.5,
    epochs: 10,
    hiddenSizes: [128, 64] as [number, number],
    learningRate: 0.05,
  },
  seeds: { count: 5 },
};

export const metadataProfiles: Record<ProfileName, MetadataStudyConfig> = {
  full: {
    imageSize: 224,
    widthMultiplier: 1,
    pooling: 'flatten',
    maxImagesPerArtist: null,
    featureBatchSize: 16,
    nComponents: 100,
    pcaSeed: 42,
    testFraction: 0.2,
    ...SEED_NETS,
  },
  teaching: {
    imageSize: 224,
    widthMultiplier: 0.25,
    pooling: 'flatten',
    maxImagesPerArtist: 40,
    featureBatchSize: 16,
    nComponents: 100,
    pcaSeed: 42,
    testFraction: 0.2,
    ...SEED_NETS,
  },
  smoke: {
    imageSize: 96,
    widthMultiplier: 0.25,
    pooling: 'flatten',
    maxImagesPerArtist: 6,
    featureBatchSize: 16,
    nComponents: 20,
    pcaSeed: 42,
    testFraction: 0.2,
    snn: { ...SEED_NETS.snn, epochs: 5 },
    bnn: { ...SEED_NETS.bnn, epochs: 3 },
    adam: { ...SEED_NETS.adam, epochs: 5 },
    gbnn: { ...SEED_NETS.gbnn, nModels: 3, epochs: 3 },
    seeds: SEED_NETS.seeds,
  },
};
