import { describe, expect, it } from 'vitest';
import { createColors, shouldColor } from './colors.js';

describe('colors', () => {
  const tty = { isTTY: true };
  it('colours a terminal unless NO_COLOR or TERM=dumb, and anything with FORCE_COLOR', () => {
    expect(shouldColor(tty, {})).toBe(true);
    expect(shouldColor({ isTTY: false }, {})).toBe(false);
    expect(shouldColor(tty, { NO_COLOR: '1' })).toBe(false);
    expect(shouldColor(tty, { NO_COLOR: '' })).toBe(true);
    expect(shouldColor(tty, { TERM: 'dumb' })).toBe(false);
    expect(shouldColor({}, { FORCE_COLOR: '1' })).toBe(true);
    expect(shouldColor(tty, { FORCE_COLOR: '0' })).toBe(false);
    expect(shouldColor({}, { FORCE_COLOR: '1', NO_COLOR: '1' })).toBe(false);
  });

  it('styles only when enabled', () => {
    expect(createColors(false).red('x')).toBe('x');
    expect(createColors(true).red('x')).toBe('\u001b[31mx\u001b[39m');
    expect(createColors(true).bold('x')).toBe('\u001b[1mx\u001b[22m');
  });
});
