/** Figures of both studies: builders (plain Plotly figures), notebook display, export and report. */
export type { Figure, PlotLayout, PlotTrace, AxisLayout } from './figure';
export {
  CATEGORICAL_PALETTE,
  OKABE_ITO,
  TOL_MUTED_EXTENSION,
  SPLIT_COLORS,
  PAIR_COLORS,
  classColors,
  classStyle,
  classOrder,
} from './theme';
export { classCountsFigure, type ClassCountRow } from './counts';
export {
  imageGridFigure,
  augmentationGridFigure,
  imageDataUri,
  type ImageCell,
  type ImageGridOptions,
} from './images';
export {
  trainingCurvesFigure,
  sweepOverlayFigure,
  type HistoryRow,
  type SweepRun,
} from './training';
export {
  confusionMatrixFigure,
  sideBySideConfusionFigure,
  perClassComparisonFigure,
  normalizeRows,
  type PerClassRow,
} from './confusion';
export { explainedVarianceFigure, projection2dFigure } from './pca';
export { seedSpreadFigure, type SeedValue } from './spread';
export {
  modelComparisonFigure,
  SEED_MODEL_ACCURACY,
  type ModelMetricsRow,
  type ReferenceAccuracy,
} from './models';
export {
  exportFigure,
  exportFigures,
  renderFigure,
  figureHtml,
  type ExportFormat,
  type ExportOptions,
} from './export';
export {
  closeBrowser,
  setBrowserIdleTimeout,
  browserLaunchCount,
  isBrowserOpen,
  withBrowser,
  offlinePage,
  CHROMIUM_ARGS,
} from './browser';
export {
  showFigure,
  ensurePlotlyInNotebook,
  figureBundle,
  FIGURE_MARKER_KEY,
  type ShowOptions,
  type FigureMarker,
  type DisplayBundle,
} from './display';
export {
  buildReport,
  findFigures,
  type ReportOptions,
  type ReportResult,
  type FoundFigure,
} from './report';
export { figuresShownInHtml, type FiguresInPage } from './pageCheck';
