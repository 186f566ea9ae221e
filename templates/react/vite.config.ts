/// <reference types="vitest/config" />
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

export default defineConfig({
  plugins: [react()],
  // Only this app's own tests, never anything a parent directory happens to hold.
  test: { include: ['src/**/*.test.{ts,tsx}', 'worker/**/*.test.ts'] },
});
