export { Edge, type EdgeApp, type EdgeOptions, type EdgeVersionSpec, hostLabel } from './host.js';
export { type EdgeRouteKit, registerEdgeRoutes } from './routes.js';
