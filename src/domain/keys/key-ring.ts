import type { Kysely } from 'kysely'
import type { Database, SigningKeyRow } from '../../db/database.js'
import {
  deleteExpiredKeys, deleteKey, findKeyInState, insertSigningKey, lockKeyRing, promoteKey, retireKey
} from '../../db/repositories/signing-keys.js'
import { addSeconds, type Clock } from '../../lib/clock.js'
import type { SecretBox } from '../../lib/secret-box.js'
import { generateSigningKey, type SigningAlgorithm } from './signing-key.js'

export interface KeyRingDeps {
  db: Kysely<Database>
  clock: Clock
  secretBox: SecretBox
  alg: SigningAlgorithm
  /** How long a retired key stays published: the access-token lifetime plus cache and clock margins. */
  retiredKeyRetentionSeconds: number
}

/**
 * The key ring's life cycle. The JWKS always publishes the next key beside the current one, so a
 * rotation only promotes a key every verifier has already been able to cache; the key it replaces
 * stays published until every token it signed has expired.
 *
 *   next (published, signs nothing) ──rotate──▶ current (signs) ──rotate──▶ retired (published
 *   until publish_until) ──▶ deleted
 *
 * Every change runs under one advisory lock, so instances racing to start or to rotate agree.
 */
export async function ensureKeyRing (deps: KeyRingDeps): Promise<void> {
  await deps.db.transaction().execute(async (trx) => {
    await lockKeyRing(trx)
    const current = await findKeyInState(trx, 'current')
    const next = await findKeyInState(trx, 'next')
    if (current === undefined) {
      await addKey({ ...deps, db: trx }, 'current')
      if (next === undefined) await addKey({ ...deps, db: trx }, 'next')
      return
    }
    if (next === undefined || next.alg !== deps.alg) {
      // A next key of another algorithm (JWT_ALG changed) has signed nothing: replace it.
      if (next !== undefined) await deleteKey(trx, next.kid)
      await addKey({ ...deps, db: trx }, 'next')
    }
    // JWT_ALG changed: the next key (already of the new algorithm) takes over now.
    if (current.alg !== deps.alg) await rotateLocked({ ...deps, db: trx }, current)
  })
}

/** Promote the next key to current, retire the current one and publish a new next key. */
export async function rotateKeyRing (deps: KeyRingDeps): Promise<{ retired: string | undefined, current: string, next: string }> {
  return await deps.db.transaction().execute(async (trx) => {
    await lockKeyRing(trx)
    return await rotateLocked({ ...deps, db: trx }, await findKeyInState(trx, 'current'))
  })
}

/** Rotate when the current key is older than `rotationDays`; true when this call rotated. */
export async function rotateKeyRingIfDue (deps: KeyRingDeps, rotationDays: number): Promise<boolean> {
  if (rotationDays <= 0) return false
  return await deps.db.transaction().execute(async (trx) => {
    await lockKeyRing(trx)
    const current = await findKeyInState(trx, 'current')
    // Checked again under the lock: only one instance rotates for a given due date.
    if (current !== undefined && !isRotationDue(current, deps.clock.now(), rotationDays)) return false
    await rotateLocked({ ...deps, db: trx }, current)
    return true
  })
}

export function isRotationDue (current: Pick<SigningKeyRow, 'activated_at' | 'created_at'>, now: Date, rotationDays: number): boolean {
  const since = current.activated_at ?? current.created_at
  return rotationDays > 0 && now.getTime() - since.getTime() >= rotationDays * 86_400_000
}

async function rotateLocked (deps: KeyRingDeps, current: SigningKeyRow | undefined): Promise<{ retired: string | undefined, current: string, next: string }> {
  const now = deps.clock.now()
  await deleteExpiredKeys(deps.db, now)
  if (current !== undefined) await retireKey(deps.db, current.kid, now, addSeconds(now, deps.retiredKeyRetentionSeconds))
  const next = await findKeyInState(deps.db, 'next')
  const promoted = next !== undefined && next.alg === deps.alg ? next.kid : undefined
  if (promoted !== undefined) {
    await promoteKey(deps.db, promoted, now)
  } else if (next !== undefined) {
    await deleteKey(deps.db, next.kid)
  }
  const newCurrent = promoted ?? await addKey(deps, 'current')
  const newNext = await addKey(deps, 'next')
  return { retired: current?.kid, current: newCurrent, next: newNext }
}

async function addKey (deps: KeyRingDeps, state: 'current' | 'next'): Promise<string> {
  const key = await generateSigningKey(deps.alg)
  await insertSigningKey(deps.db, {
    kid: key.kid,
    alg: key.alg,
    state,
    publicJwk: key.publicJwk,
    privateJwkCiphertext: deps.secretBox.seal(JSON.stringify(key.privateJwk)),
    now: deps.clock.now()
  })
  return key.kid
}
