// A scanner for a process that outlives one command (the sync daemon): it keeps an inotify watch on every
// directory the last walk read, and a status asked when none of them reported anything since is answered from that
// walk, without an lstat of each file. Anything reported at all (a change, an error, a watch that could not be
// set) makes the next scan walk the tree whole, as a process of its own would, so a lost or merged event costs a
// walk and never a wrong answer: a kernel that drops events (a full inotify queue) has queued thousands first. A
// push always walks the whole tree.
//
// A walk sets every watch afresh, each just before its directory is read: a watch follows the directory it was
// set on, not its name, so one kept across a walk could be watching a directory moved away or deleted while a new
// one took its place. Events arrive asynchronously: before it trusts "nothing reported", a scan writes a cookie
// file into .reyna/ (watched too) and waits for its event. Every watch shares the process's one inotify queue,
// and the queue keeps order, so every change made before the scan started has been reported by then. That order
// is Linux's: elsewhere (one queue a directory on Windows, FSEvents' coalescing on macOS) every scan walks.
import { type FSWatcher, lstatSync, mkdirSync, rmSync, watch, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Scanner, type ScanResult, STATE_DIR, scanApp } from './_scan.js';

/** Where the watches' events come in the order they happened, one queue for all (see above). */
const ORDERED_EVENTS = process.platform === 'linux';

/** How long a scan waits for its cookie before it walks anyway. */
const COOKIE_MS = 2000;

export interface WatchedTree {
  /** The scanner to pass as SyncOptions.scanner for this tree. */
  scan: Scanner;
  /** What the last scan did: 'walked' the tree, or answered from the watches ('watched'). */
  readonly last: 'walked' | 'watched' | undefined;
  /** Directories watched now. */
  readonly watching: number;
  close(): void;
}

/** The watched scanner of the tree at `root`. */
export function watchTree(root: string): WatchedTree {
  const watchers = new Map<string, FSWatcher>();
  let cookieWatcher: FSWatcher | undefined;
  /** Which .reyna/ it watches (identity()), and whether the root's watch saw .reyna/ change since. */
  let cookieDir: string | undefined;
  let cookieDirMoved = false;
  const cookies = new Map<string, () => void>();
  let cookieCount = 0;
  // True from the start (nothing is known yet), and whenever a watch reports anything.
  let dirty = true;
  // A watch that could not be set (no more inotify watches, say): every scan walks then.
  let unwatchable = false;
  let previous: ScanResult | undefined;
  let last: WatchedTree['last'];
  let closed = false;

  const stateDir = join(root, STATE_DIR);
  const unwatchAll = () => {
    for (const watcher of watchers.values()) watcher.close();
    watchers.clear();
  };
  const watchDir = (rel: string) => {
    if (unwatchable || watchers.has(rel)) return;
    try {
      const watcher = watch(rel ? join(root, rel) : root, { persistent: false }, (_event, name) => {
        // .reyna/ is never synced; but it may have been made anew, which its watch would not hear of.
        if (rel === '' && name === STATE_DIR) {
          cookieDirMoved = true;
          return;
        }
        dirty = true;
      });
      watcher.on('error', () => {
        dirty = true;
        watcher.close();
        if (watchers.get(rel) === watcher) watchers.delete(rel);
      });
      watchers.set(rel, watcher);
    } catch (error) {
      dirty = true;
      // Gone since its parent was read: the walk finds that out itself.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') unwatchable = true;
    }
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

  const scan: Scanner = async (scanRoot, purpose, deferSave) => {
    if (closed || scanRoot !== root) throw new Error(`watchTree(${root}) was asked to scan ${scanRoot}`);
    const settled = ORDERED_EVENTS && (await barrier());
    if (purpose === 'status' && settled && !dirty && !unwatchable && previous) {
      last = 'watched';
      const { files, cached, save } = previous;
      return { files, hashed: 0, hashedBytes: 0, cached, save };
    }
    // Reset before the walk: what changes during it is reported and makes the next scan walk again.
    dirty = false;
    unwatchAll();
    // Watches that ran out may be there again.
    unwatchable = false;
    let result: ScanResult;
    try {
      // Each directory watched before it is read, so nothing written into it after the read goes unreported.
      result = await scanApp(root, { deferSave, onDir: ORDERED_EVENTS ? watchDir : undefined });
    } catch (error) {
      dirty = true;
      previous = undefined;
      throw error;
    }
    previous = result;
    last = 'walked';
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

/** A directory's identity: its inode, and its birth time where the file system keeps one (inodes are reused). */
function identity(path: string): string | undefined {
  const st = lstatSync(path, { throwIfNoEntry: false });
  return st && `${st.dev}:${st.ino}:${st.birthtimeMs}`;
}
