import type { Kysely } from 'kysely'
import type { Database, RefreshTokenRow } from '../database.js'

export async function insertRefreshToken (
  db: Kysely<Database>, token: { id: string, sessionId: string, tokenHash: string, now: Date }
): Promise<void> {
  await db.insertInto('refresh_tokens')
    .values({ id: token.id, session_id: token.sessionId, token_hash: token.tokenHash, created_at: token.now })
    .execute()
}

export async function findRefreshTokenByHash (
  db: Kysely<Database>, tokenHash: string
): Promise<RefreshTokenRow | undefined> {
  return await db.selectFrom('refresh_tokens').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst()
}
