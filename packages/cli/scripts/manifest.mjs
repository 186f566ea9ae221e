// Writes what makes the binary fast, after `tsc -b`:
// - oclif.manifest.json, in the format of `oclif manifest`, so oclif finds commands and their flags without
//   importing every command file (the `oclif` package itself is not a dependency);
// - dist/help.txt and dist/help.color.txt, the root help pre-rendered, which bin/run.js prints for `reyna --help`
//   without loading oclif at all. The version line is a placeholder that bin/run.js fills in at run time.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { format, stripVTControlCharacters } from 'node:util';

const root = fileURLToPath(new URL('..', import.meta.url));
const USER_AGENT_PLACEHOLDER = '%REYNA_USER_AGENT%';

// oclif decides on colour and width when its modules load: render in colour at oclif's non-TTY width,
// and strip the colour for the plain variant.
process.env.FORCE_COLOR = '1';
process.env.OCLIF_COLUMNS = '80';
delete process.env.NO_COLOR;
const { Config, Help, Plugin, settings } = await import('../dist/_oclif.js');
settings.enableAutoTranspile = false;

const plugin = new Plugin({ root, type: 'core', isRoot: true, ignoreManifest: true, errorOnManifestCreate: true });
await plugin.load();
writeFileSync(new URL('../oclif.manifest.json', import.meta.url), `${JSON.stringify(plugin.manifest, null, 2)}\n`);

const config = await Config.load({ root });
class CapturedHelp extends Help {
  output = '';
  log(...args) {
    this.output += `${format(...args)}\n`;
  }
}
const help = new CapturedHelp(config, config.pjson.oclif.helpOptions ?? {});
await help.showHelp([]);
const color = help.output.replaceAll(config.userAgent, USER_AGENT_PLACEHOLDER);
if (!color.includes(USER_AGENT_PLACEHOLDER)) throw new Error('root help has no version line to fill in');
writeFileSync(new URL('../dist/help.color.txt', import.meta.url), color);
writeFileSync(new URL('../dist/help.txt', import.meta.url), stripVTControlCharacters(color));
