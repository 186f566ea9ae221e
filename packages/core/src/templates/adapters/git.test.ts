import { describe, expect, it } from 'vitest';
import { gitMessage } from './git.js';

describe('gitMessage', () => {
  it("keeps the line of git's stderr that says what went wrong, not the closing advice", () => {
    const local = [
      "Cloning into bare repository '/c/x.git.tmp'...",
      "fatal: '/tmp/nonexist.git' does not appear to be a git repository",
      'fatal: Could not read from remote repository.',
      '',
      'Please make sure you have the correct access rights',
      'and the repository exists.',
    ].join('\n');
    expect(gitMessage(new Error(local))).toBe("'/tmp/nonexist.git' does not appear to be a git repository");
    const host = "remote: Repository not found.\nfatal: repository 'https://github.com/o/r.git/' not found\n";
    expect(gitMessage(new Error(host))).toBe('Repository not found');
    const dns = "fatal: unable to access 'https://nope.invalid/r.git/': Could not resolve host: nope.invalid\n";
    expect(gitMessage(dns)).toBe(
      "unable to access 'https://nope.invalid/r.git/': Could not resolve host: nope.invalid",
    );
  });
});
