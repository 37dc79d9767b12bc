import { sql, type Kysely } from 'kysely'

/**
 * One row per session revocation, written in the transaction that revokes the session, for the
 * revocation feed. `tx` is the writing transaction's id: a reader hands out only rows whose
 * transaction is older than every transaction still running (`pg_snapshot_xmin`), in `(tx, seq)`
 * order, so a row committed late with a smaller `seq` can never fall behind a cursor already handed
 * out. No foreign key to sessions: a record must outlive a deleted session or user, since that
 * session's access tokens are still in circulation.
 */
export async function up (db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE session_revocations (
      seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      tx xid8 NOT NULL DEFAULT pg_current_xact_id(),
      session_id uuid NOT NULL,
      reason text NOT NULL,
      revoked_at timestamptz NOT NULL
    )`.execute(db)
  await sql`CREATE INDEX session_revocations_cursor_idx ON session_revocations (tx, seq)`.execute(db)
  await sql`CREATE INDEX session_revocations_revoked_at_idx ON session_revocations (revoked_at)`.execute(db)
}

export async function down (db: Kysely<any>): Promise<void> {
  await sql`DROP TABLE session_revocations`.execute(db)
}
