import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command } from '@oclif/core';
import { describe, expect, it } from 'vitest';
import { BaseCommand } from './base-command.js';
import { envName, flag, jsonRequested } from './flags.js';

const commandsDir = fileURLToPath(new URL('./commands/', import.meta.url));
const commandFiles = readdirSync(commandsDir, { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.endsWith('.d.ts'))
  .sort();

describe('flags', () => {
  it('derives the env twin from the flag name', () => {
    expect(envName('template')).toBe('REYNA_TEMPLATE');
    expect(envName('dry-run')).toBe('REYNA_DRY_RUN');
    expect(flag('prefer-offline', { type: 'boolean' })).toEqual({ type: 'boolean', env: 'REYNA_PREFER_OFFLINE' });
  });

  it('finds --json before `--` or in REYNA_JSON', () => {
    expect(jsonRequested(['--json'], {})).toBe(true);
    expect(jsonRequested(['--', '--json'], {})).toBe(false);
    expect(jsonRequested([], { REYNA_JSON: 'yes' })).toBe(true);
    expect(jsonRequested([], { REYNA_JSON: '0' })).toBe(false);
  });

  // Walks every command, present and future: each extends BaseCommand and each of its flags has a REYNA_* twin.
  it.each(commandFiles)('commands/%s: every flag has its REYNA_* env twin', async (file) => {
    const mod = (await import(`./commands/${file.replace(/\.ts$/, '.js')}`)) as { default?: unknown };
    const Cmd = mod.default as typeof Command;
    expect(Cmd.prototype, `${file} must export its command as default`).toBeInstanceOf(Command);
    expect(Cmd.prototype, `${file} must extend BaseCommand`).toBeInstanceOf(BaseCommand);
    const flags = { ...Cmd.baseFlags, ...Cmd.flags };
    expect(Object.keys(flags)).toEqual(expect.arrayContaining(['json', 'yes']));
    for (const [name, definition] of Object.entries(flags)) {
      expect(definition.env, `--${name} of ${file}`).toBe(envName(name));
    }
  });

  it('found the commands', () => {
    expect(commandFiles).toEqual(expect.arrayContaining(['doctor.ts', 'version.ts']));
  });
});
