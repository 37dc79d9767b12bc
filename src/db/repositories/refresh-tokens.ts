import type { Kysely } from 'kysely'
import type { Database, RefreshTokenRow } from '../database.js'

export async function insertRefreshToken (db: Kysely<Database>, token: { id: string, sessionId: string, tokenHash: string, now: Date }): Promise<void> {
  await db.insertInto('refresh_tokens')
    .values({ id: token.id, session_id: token.sessionId, token_hash: token.tokenHash, created_at: token.now })
    .execute()
}

export async function findRefreshTokenByHash (db: Kysely<Database>, tokenHash: string): Promise<RefreshTokenRow | undefined> {
  return await db.selectFrom('refresh_tokens').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst()
}

export async function findRefreshTokenById (db: Kysely<Database>, id: string): Promise<RefreshTokenRow | undefined> {
  return await db.selectFrom('refresh_tokens').selectAll().where('id', '=', id).executeTakeFirst()
}

/** Spend a token, remembering (encrypted, for the grace window) which token replaced it. */
export async function markRefreshTokenSpent (db: Kysely<Database>, id: string, spent: { now: Date, replacedBy: string, successorCiphertext: string }): Promise<void> {
  await db.updateTable('refresh_tokens')
    .set({ spent_at: spent.now, replaced_by: spent.replacedBy, successor_ciphertext: spent.successorCiphertext })
    .where('id', '=', id)
    .where('spent_at', 'is', null)
    .execute()
}
