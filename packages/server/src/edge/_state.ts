// What the edge must remember across restarts: which version each app serves, and the deployments that pointed
// at each version (for rollback and `reyna deployments list`). One JSON file, replaced whole (write + rename).
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface EdgeRecord {
  /** The Store's deployment id. */
  id: string;
  versionId: string;
  message?: string;
  rollbackOf?: string;
  /** Order of deployments on this edge; Store timestamps can tie. */
  seq: number;
}

export interface EdgeAppState {
  appId: string;
  name: string;
  ownerId: string;
  /** The version serving now; absent before the first successful deployment. */
  active?: string;
  /** The deployment record serving now. */
  activeRecord?: string;
  /** When this app first served, for who keeps `<name>.localhost` when two owners use one name. */
  claimedSeq: number;
  records: EdgeRecord[];
}

export interface EdgeState {
  format: 1;
  seq: number;
  apps: Record<string, EdgeAppState>;
}

export const emptyState = (): EdgeState => ({ format: 1, seq: 0, apps: {} });

export async function readState(path: string): Promise<EdgeState> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return emptyState();
    throw error;
  }
  const data = JSON.parse(text) as EdgeState;
  if (data.format !== 1 || typeof data.apps !== 'object') throw new Error(`${path}: not an edge state file`);
  return data;
}

/** Writes the whole file beside itself and renames it into place, so a crash leaves the old or the new one. */
export async function writeState(path: string, state: EdgeState): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(tmp, `${JSON.stringify(state, null, 2)}\n`);
  await rename(tmp, path);
}
