import { type DoctorCheck, ExitCode, runDoctor } from '@reyna/core';
import { Flags } from '../_oclif.js';
import { BaseCommand } from '../base-command.js';
import { flag } from '../flags.js';

export default class Doctor extends BaseCommand<typeof Doctor> {
  static override summary = 'Check that this machine has what reyna needs.';
  static override description =
    `Checks Node.js, git, the Docker engine, the studio server (GET <server>/healthz) and your \
credentials (REYNA_TOKEN or the credentials file, which must be mode 0600). Exits 1 when a check fails; warnings \
(no server or token configured yet) do not fail.`;

  static override examples = [
    '<%= config.bin %> doctor',
    '<%= config.bin %> doctor --server http://localhost:8787 --json',
  ];

  static override flags = {
    server: flag('server', Flags.string({ description: 'Studio server to check.', helpValue: '<url>' })),
  };

  async run() {
    const { cwd, env, signal } = this.context();
    const report = await runDoctor({ cwd, env, signal, server: this.flags.server });
    this.render(report, () => {
      const c = this.colors;
      const mark = { ok: c.green('✔'), warn: c.yellow('!'), fail: c.red('✖') };
      const line = (check: DoctorCheck) => `${mark[check.status]} ${c.bold(check.name)} — ${check.detail}`;
      for (const check of report.checks) {
        this.log(line(check));
        if (check.fix && check.status !== 'ok') this.log(`    ${c.dim('fix:')} ${check.fix}`);
      }
    });
    if (!report.ok) this.setExitCode(ExitCode.user);
    return report;
  }
}
