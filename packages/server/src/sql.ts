/** What the SQL store needs from a database: PGlite and node-postgres both fit behind it. */
export interface Sql {
  query<R = Record<string, unknown>>(text: string, params?: unknown[]): Promise<{ rows: R[]; rowCount: number }>;
  /** Runs statements without parameters, several at once (migrations). */
  exec(text: string): Promise<void>;
  /** Runs `fn` in one transaction on one connection; rolls back when it throws. */
  transaction<T>(fn: (tx: SqlTx) => Promise<T>): Promise<T>;
  close(): Promise<void>;
  /** "pglite" or "postgres", for /healthz and logs. */
  readonly kind: string;
}
export type SqlTx = Pick<Sql, 'query' | 'exec'>;
