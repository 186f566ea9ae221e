// Where `status` learns an app's head. A command asks the server each time (one small request). A process that
// serves many commands (the sync daemon) passes FollowedHeads: it follows the server's event stream of the user's
// apps and answers a head it asked before, or that its own commit made, for as long as the stream has told it of
// no other revision of that app, and for at most maxAgeMs (events can be lost: a NATS connection that broke for
// a moment, a publish that failed). A push always asks: it plans its upload on the head the server has.
import { Api, followEvents } from './_api.js';

/** How `status` learns an app's head and what `push` tells of its commits (see FollowedHeads). */
export interface Heads {
  /** The app's head now. */
  head(api: Api, appId: string): Promise<string | null>;
  /** Runs `commit`, whose answer is the revision it made the app's head. */
  committed<T extends { id: string }>(api: Api, appId: string, commit: () => Promise<T>): Promise<T>;
}

/** The heads of a command on its own: the server is asked every time, and a commit tells nothing. */
export const askedHeads: Heads = {
  head: async (api, appId) => (await api.getApp(appId)).head,
  committed: (_api, _appId, commit) => commit(),
};

/** Closes the stream and forgets its idle timer. */
function stopFollowing(follow: Follow): void {
  clearTimeout(follow.idle);
  follow.stop.abort();
}

/** How long a stream the server refused is not asked for again. */
const REFUSED_MS = 60_000;

/** An event that is not a revision of the app (it was deleted, or the event cannot be read): forget its head. */
const FORGET = Symbol('forget');
type Seen = string | typeof FORGET;

interface Known {
  head: string | null;
  /** When the request that answered it was sent. */
  at: number;
}

/** A request in flight, and what the stream said of its app meanwhile. */
interface Flight {
  appId: string;
  seen: Seen[];
  /** Whether the stream was open when the request went out: else an event may have come before it did. */
  open: boolean;
}

/** One server and token's stream, and what it tells. */
interface Follow {
  open: boolean;
  /** Refused by the server (a token it does not take, a server without events): not asked again before then. */
  refusedUntil?: number;
  known: Map<string, Known>;
  flights: Set<Flight>;
  stop: AbortController;
  /** Closes the stream once nobody asked for a head of its server for idleMs. */
  idle?: NodeJS.Timeout;
}

export interface FollowedHeadsOptions {
  /** How long a head is answered without asking the server again (default 10 s). */
  maxAgeMs?: number;
  /** Streams followed at once (one per server and token); the one used longest ago is closed (default 8). */
  maxStreams?: number;
  /** A stream nobody used for this long is closed (default 10 min): a server asked once is not followed for ever. */
  idleMs?: number;
  now?: () => number;
}

/** Heads that follow `GET /v1/events?subject=app.>`, so a status of an app that did not move asks nothing. */
export class FollowedHeads implements Heads {
  private readonly follows = new Map<string, Follow>();
  private readonly maxAgeMs: number;
  private readonly maxStreams: number;
  private readonly idleMs: number;
  private readonly now: () => number;

  constructor(options: FollowedHeadsOptions = {}) {
    this.maxAgeMs = options.maxAgeMs ?? 10_000;
    this.maxStreams = options.maxStreams ?? 8;
    this.idleMs = options.idleMs ?? 600_000;
    this.now = options.now ?? Date.now;
  }

  async head(api: Api, appId: string): Promise<string | null> {
    const follow = this.follow(api);
    const known = follow.known.get(appId);
    if (follow.open && known && this.now() - known.at <= this.maxAgeMs) return known.head;
    return (
      await this.learn(
        follow,
        appId,
        () => api.getApp(appId),
        (app) => app.head,
      )
    ).head;
  }

  committed<T extends { id: string }>(api: Api, appId: string, commit: () => Promise<T>): Promise<T> {
    return this.learn(this.follow(api), appId, commit, (revision) => revision.id);
  }

  /** How many streams are followed (the server refused none of them), and how many of them are open now. */
  streams(): { followed: number; open: number } {
    const all = [...this.follows.values()].filter((f) => f.refusedUntil === undefined);
    return { followed: all.length, open: all.filter((f) => f.open).length };
  }

  close(): void {
    for (const follow of this.follows.values()) stopFollowing(follow);
    this.follows.clear();
  }

  /** Runs `ask`, and knows the head it answers if the stream was open throughout and said nothing else of it. */
  private async learn<T>(follow: Follow, appId: string, ask: () => Promise<T>, headOf: (answer: T) => string | null) {
    const flight: Flight = { appId, seen: [], open: follow.open };
    const at = this.now();
    follow.flights.add(flight);
    try {
      const answer = await ask();
      const head = headOf(answer);
      if (flight.open && follow.open && flight.seen.every((seen) => seen === head))
        follow.known.set(appId, { head, at });
      else follow.known.delete(appId);
      return answer;
    } catch (error) {
      follow.known.delete(appId);
      throw error;
    } finally {
      follow.flights.delete(flight);
    }
  }

  /** Closes `follow` after idleMs without another use. */
  private keep(key: string, follow: Follow): void {
    clearTimeout(follow.idle);
    follow.idle = setTimeout(() => {
      stopFollowing(follow);
      if (this.follows.get(key) === follow) this.follows.delete(key);
    }, this.idleMs);
    follow.idle.unref();
  }

  /** The stream of `api`'s server and token, opened on first use. */
  private follow(api: Api): Follow {
    const key = `${api.server}\n${api.options.token}`;
    let follow = this.follows.get(key);
    if (follow && !(follow.refusedUntil !== undefined && this.now() >= follow.refusedUntil)) {
      // Map order is use order.
      this.follows.delete(key);
      this.follows.set(key, follow);
      this.keep(key, follow);
      return follow;
    }
    if (follow) stopFollowing(follow);
    this.follows.delete(key);
    if (this.follows.size >= this.maxStreams) {
      const [oldest, old] = this.follows.entries().next().value as [string, Follow];
      stopFollowing(old);
      this.follows.delete(oldest);
    }
    const made: Follow = { open: false, known: new Map(), flights: new Set(), stop: new AbortController() };
    follow = made;
    this.follows.set(key, made);
    this.keep(key, made);
    const { server, options } = api;
    const stream = new Api({ server, token: options.token, fetch: options.fetch, signal: made.stop.signal });
    followEvents(stream, {
      subject: 'app.>',
      onOpen: () => {
        made.open = true;
      },
      onDrop: () => drop(made),
      onEvent: (subject, data) => seen(made, subject, data),
    })
      // Refused: every status asks (and reports what the server says), and the stream is asked for again in a
      // minute, not on every status.
      .catch(() => {
        made.refusedUntil = this.now() + REFUSED_MS;
      })
      .finally(() => drop(made));
    return made;
  }
}

/** The stream broke: nothing it told holds any longer, and no request in flight learns from it. */
function drop(follow: Follow): void {
  follow.open = false;
  forgetAll(follow);
}

function forgetAll(follow: Follow): void {
  follow.known.clear();
  for (const flight of follow.flights) flight.seen.push(FORGET);
}

/** An event of the stream: `app.revision.created.<appId>` names the app's new head; any other forgets it. */
function seen(follow: Follow, subject: string, data: string): void {
  let appId: unknown;
  let what: Seen = FORGET;
  try {
    const event = JSON.parse(data) as { data?: { appId?: unknown; revision?: unknown } };
    appId = event.data?.appId;
    const revision = event.data?.revision;
    if (subject === `app.revision.created.${appId}` && typeof revision === 'string') what = revision;
  } catch {
    // Unreadable: which app it is about is not known either.
  }
  if (typeof appId !== 'string') forgetAll(follow);
  else {
    if (follow.known.get(appId)?.head !== what) follow.known.delete(appId);
    for (const flight of follow.flights) if (flight.appId === appId) flight.seen.push(what);
  }
}
