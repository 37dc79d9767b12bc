import type { Kysely } from 'kysely'
import type { Database } from '../../db/database.js'
import { deleteStaleThrottles } from '../../db/repositories/login-throttles.js'
import { deleteRevocationsBefore } from '../../db/repositories/revocations.js'

export interface PrunePolicy {
  graceSeconds: number
  idleSeconds: number
  /** How long ended sessions are kept (for the session list's history and support questions). */
  keepEndedSessionsSeconds: number
  throttleWindowSeconds: number
  /** How long revocation records are kept: the feed's window (access-token lifetime + 60 s). */
  keepRevocationRecordsSeconds?: number
}

const BATCH = 500
const CIPHERTEXT_BATCH = 5000

/**
 * Delete what can no longer matter, in small batches that skip rows other transactions hold, so
 * that pruning never makes a login or a refresh wait:
 * - sessions ended (revoked, expired or idle) longer ago than `keepEndedSessionsSeconds`, with
 *   their refresh tokens (spent tokens of a live session are kept: they are how reuse is seen);
 * - successor ciphertexts whose grace window is over;
 * - login throttles whose window and block have both passed;
 * - revocation records older than the feed's window.
 * Returns the number of sessions deleted.
 */
export async function pruneExpired (db: Kysely<Database>, now: Date, policy: PrunePolicy): Promise<number> {
  const cutoff = new Date(now.getTime() - policy.keepEndedSessionsSeconds * 1000)
  const idleCutoff = new Date(cutoff.getTime() - policy.idleSeconds * 1000)
  let deleted = 0
  for (;;) {
    const batch = await db.deleteFrom('sessions').where('id', 'in', (eb) => eb.selectFrom('sessions').select('id')
      .where((w) => w.or([
        w('expires_at', '<', cutoff), w('revoked_at', '<', cutoff), w('last_used_at', '<', idleCutoff)
      ]))
      .limit(BATCH).forUpdate().skipLocked()).executeTakeFirst()
    const count = Number(batch.numDeletedRows)
    deleted += count
    if (count < BATCH) break
  }
  const graceEnd = new Date(now.getTime() - policy.graceSeconds * 1000)
  // Loop until none is left: a live token's ciphertext must not outlive the grace window just
  // because more of them piled up than one batch holds.
  for (;;) {
    const cleared = await db.updateTable('refresh_tokens').set({ successor_ciphertext: null })
      .where('id', 'in', (eb) => eb.selectFrom('refresh_tokens').select('id')
        .where('successor_ciphertext', 'is not', null).where('spent_at', '<', graceEnd)
        .limit(CIPHERTEXT_BATCH).forUpdate().skipLocked())
      .executeTakeFirst()
    if (Number(cleared.numUpdatedRows) < CIPHERTEXT_BATCH) break
  }
  await deleteStaleThrottles(db, new Date(now.getTime() - policy.throttleWindowSeconds * 1000))
  if (policy.keepRevocationRecordsSeconds !== undefined) {
    await deleteRevocationsBefore(db, new Date(now.getTime() - policy.keepRevocationRecordsSeconds * 1000))
  }
  return deleted
}
