import { existsSync } from 'node:fs';

/**
 * Whether a test that needs an outside service or program may run. Off CI a missing one skips the test with a
 * visible reason; with CI=true it must be there, and its absence fails the run.
 */
export function need(what: string, available: boolean, fix: string): boolean {
  if (available) return true;
  if (process.env.CI === 'true') throw new Error(`${what} is required on CI but missing: ${fix}`);
  process.stderr.write(`SKIP: ${what} is missing here (${fix}); the tests that need it are skipped.\n`);
  return false;
}

export const CHROMIUM = '/usr/bin/chromium';
export const hasChromium = () => existsSync(CHROMIUM);

/** Flags that keep headless Chromium off the network. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
];
