import type { Sql, SqlTx } from '../sql.js';

export interface PostgresOptions {
  connectionString: string;
  /** Schema to use (created when missing): lets tests and several installations share one database. */
  schema?: string;
  max?: number;
}

/** PostgreSQL (or Supabase) through node-postgres, with a pool. */
export async function openPostgres(options: PostgresOptions): Promise<Sql> {
  const { default: pg } = await import('pg');
  // bigint columns come back as strings by default; sizes here fit in a double.
  pg.types.setTypeParser(20, (v: string) => Number(v));
  const schema = options.schema;
  if (schema !== undefined && !/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`bad schema name "${schema}"`);
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.max ?? 10,
    ...(schema ? { options: `-c search_path=${schema}` } : {}),
  });
  if (schema) {
    // CREATE SCHEMA IF NOT EXISTS still fails when two servers run it at once: take turns.
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock(726178)');
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      await pool.end();
      throw error;
    } finally {
      client.release();
    }
  }
  const txOf = (q: {
    query: (text: string, params?: unknown[]) => Promise<{ rows: unknown[]; rowCount: number | null }>;
  }): SqlTx => ({
    async query<R>(text: string, params: unknown[] = []) {
      const r = await q.query(text, params);
      return { rows: r.rows as R[], rowCount: r.rowCount ?? 0 };
    },
    async exec(text: string) {
      await q.query(text);
    },
  });
  return {
    kind: 'postgres',
    ...txOf(pool),
    async transaction(fn) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await fn(txOf(client));
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
}
