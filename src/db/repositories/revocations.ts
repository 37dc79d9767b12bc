import { sql, type Kysely } from 'kysely'
import type { Database } from '../database.js'
import type { FeedPosition } from '../../domain/revocations/cursor.js'

export interface RevocationRecord {
  sessionId: string
  reason: string
  revokedAt: Date
  position: FeedPosition
}

export interface RevocationBatch {
  records: RevocationRecord[]
  /** Where the next read starts: after the last record, or at the snapshot's xmin when all was read. */
  next: FeedPosition
}

interface Row {
  boundary: string
  tx: string | null
  seq: string | null
  session_id: string | null
  reason: string | null
  revoked_at: Date | null
}

/**
 * Records after `after`, oldest first, revoked after `notBefore`, at most `limit`. Only records of
 * transactions older than the snapshot's xmin are returned: every transaction that could still
 * commit a record has a larger id, so it lands after `next`. One indexed statement; it holds no
 * lock and no session state, so it works through PgBouncer in transaction mode.
 */
export async function readRevocations (
  db: Kysely<Database>, after: FeedPosition, notBefore: Date, limit: number
): Promise<RevocationBatch> {
  const { rows } = await sql<Row>`
    WITH snapshot AS (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xmin)
    SELECT snapshot.xmin::text AS boundary, r.tx::text AS tx, r.seq::text AS seq, r.session_id, r.reason, r.revoked_at
    FROM snapshot LEFT JOIN LATERAL (
      SELECT tx, seq, session_id, reason, revoked_at FROM session_revocations
      WHERE tx < snapshot.xmin
        AND (tx, seq) > (${after.tx.toString()}::xid8, ${after.seq.toString()}::bigint)
        AND revoked_at > ${notBefore}
      ORDER BY tx, seq
      LIMIT ${limit}
    ) r ON true
    ORDER BY r.tx, r.seq`.execute(db)
  const records = rows.filter((row) => row.tx !== null).map((row) => ({
    sessionId: row.session_id!,
    reason: row.reason!,
    revokedAt: new Date(row.revoked_at!),
    position: { tx: BigInt(row.tx!), seq: BigInt(row.seq!) }
  }))
  const boundary: FeedPosition = { tx: BigInt(rows[0]!.boundary), seq: 0n }
  const last = records.at(-1)?.position
  // A full batch may have more behind it. Otherwise every record before the boundary has been read
  // (a cursor from elsewhere that lies beyond the boundary is brought back to it, losing nothing).
  const next = records.length === limit && last !== undefined ? last : boundary
  return { records, next }
}

/** Delete records older than the feed's window, in small batches that skip rows others hold. */
export async function deleteRevocationsBefore (db: Kysely<Database>, cutoff: Date): Promise<number> {
  let deleted = 0
  for (;;) {
    const batch = await db.deleteFrom('session_revocations')
      .where('seq', 'in', (eb) => eb.selectFrom('session_revocations')
        .select('seq').where('revoked_at', '<', cutoff).limit(1000).forUpdate().skipLocked())
      .executeTakeFirst()
    const count = Number(batch.numDeletedRows)
    deleted += count
    if (count < 1000) return deleted
  }
}
