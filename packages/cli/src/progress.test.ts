import { describe, expect, it } from 'vitest';
import { createColors } from './colors.js';
import { runPlainTasks, stepTasks } from './progress.js';

const colors = createColors(false);
const later = (ms: number) => new Promise((done) => setTimeout(done, ms));

describe('runPlainTasks', () => {
  it('prints one line as each step ends, in order, with the detail and the skipped ones', async () => {
    const steps = stepTasks([
      { id: 'install', title: 'Dependencies' },
      { id: 'client', title: 'Client (Vite)' },
      { id: 'worker', title: 'Worker (esbuild)' },
      { id: 'check', title: 'Limits' },
    ]);
    const lines: string[] = [];
    const shown = runPlainTasks(steps.tasks, {}, { colors, write: (line) => lines.push(line) });
    // Reported out of order, as concurrent steps are; one never reported at all.
    steps.onStep('worker', 'done', '288 B gzip');
    steps.onStep('install', 'skip', 'up to date');
    await later(5);
    expect(lines).toEqual(['↓ Dependencies [skipped]']);
    steps.onStep('client', 'done');
    steps.finish();
    await shown;
    expect(lines).toEqual([
      '↓ Dependencies [skipped]',
      '✔ Client (Vite)',
      '✔ Worker (esbuild): 288 B gzip',
      '↓ Limits [skipped]',
    ]);
  });

  it('stops at the first failure and throws it', async () => {
    const steps = stepTasks([
      { id: 'a', title: 'A' },
      { id: 'b', title: 'B' },
    ]);
    const lines: string[] = [];
    const shown = runPlainTasks(steps.tasks, {}, { colors, write: (line) => lines.push(line) });
    const error = new Error('broken');
    steps.fail(error);
    await expect(shown).rejects.toBe(error);
    expect(lines).toEqual(['✖ A']);
  });

  it('runs concurrent tasks to the end without exitOnError, then throws what failed', async () => {
    const lines: string[] = [];
    const ran: string[] = [];
    const shown = runPlainTasks(
      [
        {
          title: 'slow',
          task: async () => {
            await later(20);
            ran.push('slow');
          },
        },
        {
          title: 'bad',
          task: async () => {
            throw new Error('bad app');
          },
        },
        { title: 'fast', task: async () => void ran.push('fast') },
      ],
      {},
      { colors, concurrent: true, exitOnError: false, write: (line) => lines.push(line) },
    );
    await expect(shown).rejects.toThrow('bad app');
    expect(ran).toEqual(['fast', 'slow']);
    expect(lines).toEqual(['✖ bad', '✔ fast', '✔ slow']);
  });

  it('prints nothing without a writer (--json), and still waits for every task', async () => {
    let done = false;
    await runPlainTasks(
      [
        {
          title: 'x',
          task: async () => {
            await later(5);
            done = true;
          },
        },
      ],
      {},
      { colors },
    );
    expect(done).toBe(true);
  });
});
