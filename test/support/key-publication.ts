import { sql, type Kysely } from 'kysely'
import type { Database } from '../../src/db/database.js'

/**
 * Date a key's publication (its `created_at`, otherwise never updated) as if it had entered the
 * JWKS at `publishedAt`: the next key by default. A rotation promotes only a next key published
 * for the JWKS max-age, so tests that rotate right after start move its publication back.
 */
export async function setKeyPublication (db: Kysely<Database>, publishedAt: Date, kid?: string): Promise<void> {
  if (kid === undefined) {
    await sql`UPDATE signing_keys SET created_at = ${publishedAt} WHERE state = 'next'`.execute(db)
  } else {
    await sql`UPDATE signing_keys SET created_at = ${publishedAt} WHERE kid = ${kid}`.execute(db)
  }
}

export const anHourAgo = (): Date => new Date(Date.now() - 3_600_000)
