import { defineConfig } from 'vitest/config';

// One run for the whole repository: unit tests beside the code, integration tests under each package's test/,
// and each template's and example's own tests, run with that app's own Vite config.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'reyna',
          include: ['packages/*/src/**/*.test.ts', 'packages/*/test/**/*.test.ts'],
          exclude: ['**/node_modules/**', '**/dist/**', '**/.tmp/**'],
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
      'templates/*',
      'examples/*',
    ],
  },
});
