// How static files are served, so the deploy targets and the local edge give a file the same type.
export { contentTypeOf } from '../build/_mime.js';
export * from './api.js';
export * from './config.js';
export * from './edge.js';
export * from './paths.js';
