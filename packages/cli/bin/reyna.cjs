#!/usr/bin/env node
// The `reyna` binary. CommonJS, so that one case is answered before Node's ESM loader starts: `reyna status`
// with a sync daemon running (`reyna daemon start`), which answers it in a few milliseconds, less than loading
// bin/run.js and its imports takes. dist/daemon/fast.cjs asks the daemon and prints its answer; anything else (any
// other command, another form of status, no daemon, an error) is bin/run.js's, which runs the command as ever.
'use strict';

const argv = process.argv.slice(2);
const env = process.env;
const main = () => import('./run.js');

if (argv[0] === 'status' && !env.REYNA_NO_FAST_PATH) {
  let fast;
  try {
    fast = require('../dist/daemon/fast.cjs');
  } catch {
    // Only `tsc` has run: no bundle.
  }
  if (!fast) main();
  else {
    process.stdout.on('error', (error) => {
      if (error.code !== 'EPIPE') throw error;
    });
    fast.statusThroughDaemon(argv.slice(1), env).then(
      (answered) => {
        // Answered: exit once stdout took it (see exitWhenWritten in bin/run.js).
        if (answered) process.stdout.write('', () => process.exit());
        else main();
      },
      () => {
        // The daemon's error: bin/run.js runs the status here and reports what it finds, without asking again.
        env.REYNA_NO_DAEMON = '1';
        main();
      },
    );
  }
} else main();
