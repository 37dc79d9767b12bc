import type { Kysely } from 'kysely'
import type { Database } from '../../db/database.js'
import { addRoles, findRolesOfUser, removeRoles } from '../../db/repositories/user-roles.js'
import { OperatorError } from '../../errors.js'
import { normalizeEmail } from '../credentials/email.js'

/** What a role may look like: short, lowercase, with `:` `.` `_` `-` for namespaces (`billing:read`). */
export const ROLE_PATTERN = /^[a-z][a-z0-9:._-]{0,63}$/
export const MAX_ROLES_PER_USER = 64

export interface RoleChange {
  add: readonly string[]
  remove: readonly string[]
}

/**
 * Add and remove roles of the user with this email, under the user's row lock (so concurrent
 * changes cannot pass the cap together), and return the roles now held, sorted. Everything is
 * checked before anything is written: a refused change changes nothing.
 */
export async function changeRoles (
  db: Kysely<Database>, rawEmail: string, change: RoleChange
): Promise<{ email: string, roles: string[] }> {
  for (const role of [...change.add, ...change.remove]) {
    if (!ROLE_PATTERN.test(role)) {
      throw new OperatorError(`invalid role ${JSON.stringify(role)}: roles match ${ROLE_PATTERN.source}`)
    }
  }
  const both = change.add.find((role) => change.remove.includes(role))
  if (both !== undefined) throw new OperatorError(`role "${both}" is both added and removed`)
  let email: string
  try {
    email = normalizeEmail(rawEmail)
  } catch {
    throw new OperatorError(`invalid email ${JSON.stringify(rawEmail)}`)
  }
  return await db.transaction().execute(async (trx) => {
    const user = await trx.selectFrom('users').select('id').where('email', '=', email).forUpdate().executeTakeFirst()
    if (user === undefined) throw new OperatorError(`no user with email ${email}`)
    const held = new Set(await findRolesOfUser(trx, user.id))
    for (const role of change.add) held.add(role)
    for (const role of change.remove) held.delete(role)
    if (held.size > MAX_ROLES_PER_USER) {
      throw new OperatorError(`a user holds at most ${MAX_ROLES_PER_USER} roles (this change would give ${held.size})`)
    }
    await addRoles(trx, user.id, change.add)
    await removeRoles(trx, user.id, change.remove)
    return { email, roles: await findRolesOfUser(trx, user.id) }
  })
}
