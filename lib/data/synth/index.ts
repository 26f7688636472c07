export {
  DATA_SIZES,
  GENERATOR_VERSION,
  generateAll,
  generatePaintings,
  generateSculptures,
  paintingCounts,
  sculptureCounts,
} from './generate';
export type {
  BrokenFile,
  DataSize,
  GenerateOptions,
  PaintingSummary,
  SculptureSummary,
} from './generate';
export { ARTISTS, artistFileStem } from './artists';
export type { ArtistRecord } from './artists';
export { ARTISTS_CSV_COLUMNS, artistsCsv, csvField } from './csv';
export { SCULPTURE_STYLES } from './sculpture-styles';
export type { SculptureStyle } from './sculpture-styles';
export { generateSourceTask, SOURCE_CLASSES } from './source-task';
export type { SourceTask, SourceTaskOptions } from './source-task';
