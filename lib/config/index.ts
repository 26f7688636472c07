export * from './names';
export * from './profiles';
export { closestKey, levenshtein } from './schema';
export type { ConfigProblem, Schema } from './schema';
