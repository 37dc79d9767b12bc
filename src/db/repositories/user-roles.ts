import type { Kysely } from 'kysely'
import type { Database } from '../database.js'

/** The user's roles, sorted by code point (the order tokens carry them in, whatever the collation). */
export async function findRolesOfUser (db: Kysely<Database>, userId: string): Promise<string[]> {
  const rows = await db.selectFrom('user_roles').select('role').where('user_id', '=', userId).execute()
  return sortRoles(rows.map((row) => row.role))
}

export async function addRoles (db: Kysely<Database>, userId: string, roles: readonly string[]): Promise<void> {
  if (roles.length === 0) return
  await db.insertInto('user_roles').values(roles.map((role) => ({ user_id: userId, role })))
    .onConflict((conflict) => conflict.doNothing()).execute()
}

export async function removeRoles (db: Kysely<Database>, userId: string, roles: readonly string[]): Promise<void> {
  if (roles.length === 0) return
  await db.deleteFrom('user_roles').where('user_id', '=', userId).where('role', 'in', [...roles]).execute()
}

/**
 * Roles as the database hands them over in one column (`string_agg(role, ' ')`: no role holds a
 * space), sorted. One text column reads the same through pg and PGlite, where arrays need parsers.
 */
export function parseRoleList (joined: string | null): string[] {
  return sortRoles((joined ?? '').split(' ').filter((role) => role !== ''))
}

const sortRoles = (roles: string[]): string[] => roles.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
