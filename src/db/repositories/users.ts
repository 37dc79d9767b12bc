import type { Kysely } from 'kysely'
import type { Database, UserRow } from '../database.js'

export async function insertUser (
  db: Kysely<Database>, user: { id: string, email: string, passwordHash: string }
): Promise<UserRow> {
  return await db.insertInto('users')
    .values({ id: user.id, email: user.email, password_hash: user.passwordHash })
    .returningAll()
    .executeTakeFirstOrThrow()
}

export async function findUserByEmail (db: Kysely<Database>, email: string): Promise<UserRow | undefined> {
  return await db.selectFrom('users').selectAll().where('email', '=', email).executeTakeFirst()
}

export async function findUserById (db: Kysely<Database>, id: string): Promise<UserRow | undefined> {
  return await db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst()
}

export async function updatePasswordHash (
  db: Kysely<Database>, id: string, passwordHash: string, changedAt?: Date
): Promise<void> {
  const passwordChanged = changedAt === undefined ? {} : { password_changed_at: changedAt }
  await db.updateTable('users')
    .set({ password_hash: passwordHash, updated_at: new Date(), ...passwordChanged })
    .where('id', '=', id)
    .execute()
}
