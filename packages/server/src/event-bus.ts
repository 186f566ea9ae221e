/** One change, e.g. `app.revision.created.<appId>` with the new revision's summary. */
export interface ServerEvent {
  subject: string;
  data: Record<string, unknown>;
  at: string;
}

/** Publishes changes so clients can watch; subjects are NATS-style, dot-separated, `>` matches the rest. */
export interface EventBus {
  readonly kind: string;
  publish(subject: string, data: Record<string, unknown>): Promise<void>;
  /** Calls `fn` for each event whose subject matches `pattern`; returns the unsubscribe. */
  subscribe(pattern: string, fn: (event: ServerEvent) => void): Promise<() => void>;
  close(): Promise<void>;
}

/** NATS subject matching: `*` one token, `>` one or more at the end. */
export function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '>') return s.length > i;
    if (i >= s.length) return false;
    if (p[i] !== '*' && p[i] !== s[i]) return false;
  }
  return p.length === s.length;
}
