/// <reference types="vitest/config" />
import { defineConfig } from 'vite';

export default defineConfig({
  // Only this app's own tests, never anything a parent directory happens to hold.
  test: { include: ['src/**/*.test.ts', 'worker/**/*.test.ts'] },
});
