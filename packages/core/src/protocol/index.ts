export * from './api.js';
export * from './config.js';
export * from './edge.js';
export * from './paths.js';
