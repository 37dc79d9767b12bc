import type { Kysely, Selectable } from 'kysely'
import type { Database, OAuthClientsTable } from '../database.js'

export type OAuthClientRow = Selectable<OAuthClientsTable>

export interface NewOAuthClient { clientId: string, secretHash: string, name: string | null, scope: string | null }

export async function insertOAuthClient (db: Kysely<Database>, client: NewOAuthClient): Promise<void> {
  await db.insertInto('oauth_clients')
    .values({ client_id: client.clientId, secret_hash: client.secretHash, name: client.name, scope: client.scope })
    .execute()
}

export async function findActiveOAuthClient (
  db: Kysely<Database>, clientId: string
): Promise<OAuthClientRow | undefined> {
  return await db.selectFrom('oauth_clients').selectAll()
    .where('client_id', '=', clientId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst()
}
