import { sql, type Kysely } from 'kysely'

/**
 * The per-account login throttle becomes per account AND source address, so an attacker's
 * failures from one address never keep the owner, logging in from another, out. Throttle rows are
 * short-lived counters (nothing else refers to them), so the table is simply recreated.
 */
export async function up (db: Kysely<any>): Promise<void> {
  await sql`DROP TABLE login_throttles`.execute(db)
  await sql`
    CREATE TABLE login_throttles (
      email text NOT NULL,
      source text NOT NULL,
      failures integer NOT NULL DEFAULT 0,
      pending integer NOT NULL DEFAULT 0,
      pending_since timestamptz,
      window_started_at timestamptz NOT NULL DEFAULT now(),
      blocked_until timestamptz,
      verdict text NOT NULL DEFAULT 'admitted',
      PRIMARY KEY (email, source)
    )`.execute(db)
  await sql`CREATE INDEX login_throttles_window_started_at ON login_throttles (window_started_at)`.execute(db)
}

export async function down (db: Kysely<any>): Promise<void> {
  await sql`DROP TABLE login_throttles`.execute(db)
  await sql`
    CREATE TABLE login_throttles (
      email text PRIMARY KEY,
      failures integer NOT NULL DEFAULT 0,
      window_started_at timestamptz NOT NULL DEFAULT now(),
      blocked_until timestamptz
    )`.execute(db)
}
