// A scanner for a process that outlives one command (the sync daemon): it keeps an inotify watch on every
// directory the last scan read, and the next scan reads again only the directories that reported something since
// (a file made, changed, removed or renamed in them), taking every other directory's listing and files from the
// last scan, without an lstat of each file (scanTree's `since`). A scan of a tree where nothing was reported is
// the last scan's result. A directory found where another was before (its identity, inode and birth time, is
// not the one its watch was set on) is read whole, with new watches. Anything that says a watch may have missed
// something makes the next scan walk the tree whole, as a process of its own would: an error of a watch, a watch
// that could not be set, or more events than a fraction of the kernel's queue (a queue that overflows drops
// events, and libuv does not say so, but it has queued that many first).
//
// Events arrive asynchronously: before it trusts what was reported, a scan writes a cookie file into .reyna/
// (watched too) and waits for its event. Every watch shares the process's one inotify queue, and the queue keeps
// order, so every change made before the scan started has been reported by then. That order is Linux's:
// elsewhere (one queue a directory on Windows, FSEvents' coalescing on macOS) every scan walks.
import { type FSWatcher, lstatSync, mkdirSync, readFileSync, rmSync, type Stats, watch, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Scanner, type ScanResult, STATE_DIR, scanApp } from './_scan.js';

/** Where the watches' events come in the order they happened, one queue for all (see above). */
const ORDERED_EVENTS = process.platform === 'linux';

/** How long a scan waits for its cookie before it walks anyway. */
const COOKIE_MS = 2000;

/**
 * More events than this since the last scan, and the next one walks the whole tree: a quarter of what the kernel
 * queues before it drops events (fs.inotify.max_queued_events), at most 1024.
 */
const MAX_EVENTS = (() => {
  try {
    return Math.min(1024, Math.floor(Number(readFileSync('/proc/sys/fs/inotify/max_queued_events', 'latin1')) / 4));
  } catch {
    return 0;
  }
})();

export interface WatchedTree {
  /** The scanner to pass as SyncOptions.scanner for this tree. */
  scan: Scanner;
  /**
   * What the last scan did: 'walked' the whole tree, read again only the directories that reported something
   * ('updated'), or answered from the watches alone ('watched').
   */
  readonly last: 'walked' | 'updated' | 'watched' | undefined;
  /** Directories watched now. */
  readonly watching: number;
  close(): void;
}

/** The watched scanner of the tree at `root`. */
export function watchTree(root: string): WatchedTree {
  /** Each watched directory's watch, and the identity of the directory it was set on. */
  const watchers = new Map<string, { watcher: FSWatcher; id: string | undefined }>();
  let cookieWatcher: FSWatcher | undefined;
  /** Which .reyna/ it watches (identity()), and whether the root's watch saw .reyna/ change since. */
  let cookieDir: string | undefined;
  let cookieDirMoved = false;
  const cookies = new Map<string, () => void>();
  let cookieCount = 0;
  // True from the start (nothing is known yet), and whenever a watch may have missed something.
  let everything = true;
  /** The directories that reported something since the last scan, and how many events they reported. */
  let changed = new Set<string>();
  let events = 0;
  // A watch that could not be set (no more inotify watches, say): every scan walks then.
  let unwatchable = false;
  let previous: ScanResult | undefined;
  let last: WatchedTree['last'];
  let closed = false;

  const stateDir = join(root, STATE_DIR);
  const unwatch = (rel: string) => {
    watchers.get(rel)?.watcher.close();
    watchers.delete(rel);
  };
  const unwatchAll = () => {
    for (const { watcher } of watchers.values()) watcher.close();
    watchers.clear();
  };
  /** Watches `rel`, unless the watch on it is set on the directory there now. */
  const watchDir = (rel: string) => {
    if (unwatchable) return;
    const abs = rel ? join(root, rel) : root;
    const id = identity(abs);
    const had = watchers.get(rel);
    if (had && had.id === id && id !== undefined) return;
    if (had) unwatch(rel);
    try {
      const watcher = watch(abs, { persistent: false }, (_event, name) => {
        // .reyna/ is never synced; but it may have been made anew, which its watch would not hear of.
        if (rel === '' && name === STATE_DIR) {
          cookieDirMoved = true;
          return;
        }
        changed.add(rel);
        events++;
      });
      watcher.on('error', () => {
        everything = true;
        watcher.close();
        if (watchers.get(rel)?.watcher === watcher) watchers.delete(rel);
      });
      watchers.set(rel, { watcher, id });
    } catch (error) {
      everything = true;
      // Gone since its parent was read: the walk finds that out itself.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') unwatchable = true;
    }
  };
  /** Whether the directory at `rel`, as lstat found it, is the one its watch was set on. */
  const same = (rel: string, st: Stats) => {
    const had = watchers.get(rel);
    return had !== undefined && had.id === idOf(st);
  };

  /** Resolves true once every event queued before the call has been seen. */
  const barrier = (): Promise<boolean> => {
    try {
      // A .reyna/ made anew (removed by hand, say) is another directory: the old watch hears nothing of it.
      if (cookieWatcher && (cookieDirMoved || identity(stateDir) !== cookieDir)) {
        cookieWatcher.close();
        cookieWatcher = undefined;
      }
      cookieDirMoved = false;
      if (!cookieWatcher) {
        mkdirSync(stateDir, { recursive: true });
        cookieDir = identity(stateDir);
        const watcher = watch(stateDir, { persistent: false }, (_event, name) => {
          const seen = name === null ? undefined : cookies.get(String(name));
          seen?.();
        });
        watcher.on('error', () => {
          watcher.close();
          if (cookieWatcher === watcher) cookieWatcher = undefined;
        });
        cookieWatcher = watcher;
      }
      const name = `daemon-cookie-${process.pid}-${++cookieCount}`;
      const path = join(stateDir, name);
      const seen = new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), COOKIE_MS);
        cookies.set(name, () => {
          clearTimeout(timer);
          resolve(true);
        });
      });
      writeFileSync(path, '');
      return seen.then((ok) => {
        cookies.delete(name);
        rmSync(path, { force: true });
        if (!ok) {
          // A watch on .reyna/ that went deaf (the directory was removed and made again): set a new one next time.
          cookieWatcher?.close();
          cookieWatcher = undefined;
        }
        return ok;
      });
    } catch {
      cookieWatcher?.close();
      cookieWatcher = undefined;
      return Promise.resolve(false);
    }
  };

  const scan: Scanner = async (scanRoot, deferSave) => {
    if (closed || scanRoot !== root) throw new Error(`watchTree(${root}) was asked to scan ${scanRoot}`);
    const settled = ORDERED_EVENTS && (await barrier());
    const whole = !settled || everything || unwatchable || !previous || events > MAX_EVENTS;
    if (!whole && changed.size === 0 && previous) {
      last = 'watched';
      const { files, cached, save, listing, rules } = previous;
      return { files, hashed: 0, hashedBytes: 0, cached, save, read: 0, listing, rules };
    }
    // Taken before the scan: what is reported during it is read again by the next one.
    const reported = changed;
    changed = new Set();
    events = 0;
    everything = false;
    if (whole) {
      // Every watch set afresh, each just before its directory is read.
      unwatchAll();
      // Watches that ran out may be there again.
      unwatchable = false;
    }
    let result: ScanResult;
    try {
      // Each directory watched before it is read, so nothing written into it after the read goes unreported.
      result = await scanApp(root, {
        deferSave,
        onDir: ORDERED_EVENTS ? watchDir : undefined,
        since: whole ? undefined : { previous: previous as ScanResult, changed: (dir) => reported.has(dir), same },
      });
    } catch (error) {
      everything = true;
      previous = undefined;
      throw error;
    }
    // Directories the tree no longer has (or the rules now leave out) are watched no longer.
    for (const rel of [...watchers.keys()]) if (!result.listing.has(rel)) unwatch(rel);
    // Under other ignore rules, scanTree read every directory.
    last = whole || result.rules !== previous?.rules ? 'walked' : 'updated';
    previous = result;
    return result;
  };

  return {
    scan,
    get last() {
      return last;
    },
    get watching() {
      return watchers.size;
    },
    close() {
      closed = true;
      unwatchAll();
      cookieWatcher?.close();
      cookieWatcher = undefined;
    },
  };
}

/** A directory's identity (idOf), or undefined when there is none at `path`. */
function identity(path: string): string | undefined {
  const st = lstatSync(path, { throwIfNoEntry: false });
  return st && idOf(st);
}

/** Its device and inode, and its birth time where the file system keeps one (inodes are reused). */
function idOf(st: Stats): string {
  return `${st.dev}:${st.ino}:${st.birthtimeMs}`;
}
