export * from './extract';
export * from './pca';
export * from './store';
