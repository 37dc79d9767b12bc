import type { Kysely } from 'kysely'
import type { Database } from '../database.js'

export interface ResourceServerRow {
  uri: string
  scope: string
  ttl_seconds: number | null
}

export async function findResourceServer (db: Kysely<Database>, uri: string): Promise<ResourceServerRow | undefined> {
  return await db.selectFrom('resource_servers').select(['uri', 'scope', 'ttl_seconds'])
    .where('uri', '=', uri).executeTakeFirst()
}

/** Register a resource, or update what an existing URI names (its scopes and its lifetime cap). */
export async function upsertResourceServer (db: Kysely<Database>, row: ResourceServerRow): Promise<ResourceServerRow> {
  return await db.insertInto('resource_servers').values(row)
    .onConflict((conflict) => conflict.column('uri').doUpdateSet({
      scope: row.scope, ttl_seconds: row.ttl_seconds, updated_at: new Date()
    }))
    .returning(['uri', 'scope', 'ttl_seconds'])
    .executeTakeFirstOrThrow()
}
