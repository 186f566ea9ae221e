// Deploy targets serve files with the types the build report names.
export { contentTypeOf } from '../build/_mime.js';
