import type { Kysely } from 'kysely'
import type { Database, SigningKeyRow } from '../../db/database.js'
import {
  deleteExpiredKeys, deleteKey, findKeyCiphertexts, findKeyInState, insertSigningKey, lockKeyRing, promoteKey,
  retireKey, updateKeyCiphertext
} from '../../db/repositories/signing-keys.js'
import { addSeconds, type Clock } from '../../lib/clock.js'
import { isLegacyCiphertext, type SecretBox } from '../../lib/secret-box.js'
import type { SigningAlgorithm } from './signing-algorithms.js'
import { generateSigningKey, signingKeyAad } from './signing-key.js'

export interface KeyRingDeps {
  db: Kysely<Database>
  clock: Clock
  secretBox: SecretBox
  alg: SigningAlgorithm
  /** How long a retired key stays published: the access-token lifetime plus cache and clock margins. */
  retiredKeyRetentionSeconds: number
  /**
   * How long a next key must have been published before it may sign: the JWKS cache lifetime plus
   * the time an instance may take to start serving it. A younger key is never promoted.
   */
  minPublishedSeconds: number
}

/** A rotation was asked for, but promoting the next key now would hand verifiers an uncached kid. */
export class KeyNotReadyError extends Error {
  constructor (readonly kid: string, readonly readyAt: Date, publishedSeconds: number, minPublishedSeconds: number) {
    super(`the next signing key ${kid} has been published for ${publishedSeconds} s, but verifiers may cache ` +
      `the JWKS for ${minPublishedSeconds} s; nothing was changed, try again after ${readyAt.toISOString()}`)
    this.name = 'KeyNotReadyError'
  }
}

/** What ensureKeyRing found: a JWT_ALG change waits until the new algorithm's key may sign. */
export interface KeyRingState { pendingAlgorithmChange?: { from: string, to: string, kid: string, readyAt: Date } }

/**
 * The key ring's life cycle. The JWKS always publishes the next key beside the current one, so a
 * rotation only promotes a key every verifier has already been able to cache; the key it replaces
 * stays published until every token it signed has expired.
 *
 *   next (published, signs nothing) ──rotate──▶ current (signs) ──rotate──▶ retired (published
 *   until publish_until) ──▶ deleted
 *
 * A next key is promoted only once it has been published for `minPublishedSeconds` (its
 * `created_at` is when it entered the JWKS): `keys:rotate` refuses before that (KeyNotReadyError),
 * automatic rotation and a JWT_ALG change keep the current key and try again later. The one
 * exception is an empty ring: with no key at all there is nothing a verifier could have cached.
 *
 * Every change runs under one advisory lock, so instances racing to start or to rotate agree.
 */
export async function ensureKeyRing (deps: KeyRingDeps): Promise<KeyRingState> {
  return await deps.db.transaction().execute(async (trx) => {
    await lockKeyRing(trx)
    const locked = { ...deps, db: trx }
    await resealLegacyKeys(locked)
    const current = await findKeyInState(trx, 'current')
    if (current === undefined) {
      await addKey(locked, 'current')
      await promotableNext(locked)
      return {}
    }
    const next = await promotableNext(locked)
    if (current.alg === deps.alg) return {}
    // JWT_ALG changed: the next key (now of the new algorithm) takes over once verifiers can have
    // cached it; until then the current key keeps signing with the old algorithm.
    if (!next.ready) {
      const readyAt = promotableAt(deps, next.row)
      return { pendingAlgorithmChange: { from: current.alg, to: deps.alg, kid: next.row.kid, readyAt } }
    }
    await rotateLocked(locked, current, next.row)
    return {}
  })
}

/**
 * Promote the next key to current, retire the current one and publish a new next key. Throws
 * KeyNotReadyError, changing nothing, when the next key is younger than `minPublishedSeconds`.
 */
/** The kids a rotation leaves: the key it retired (none on an empty ring), the new current and next keys. */
export interface RotatedKeys { retired: string | undefined, current: string, next: string }

export async function rotateKeyRing (deps: KeyRingDeps): Promise<RotatedKeys> {
  return await deps.db.transaction().execute(async (trx) => {
    await lockKeyRing(trx)
    const next = await promotableNext({ ...deps, db: trx })
    if (!next.ready) throw notReady(deps, next.row)
    return await rotateLocked({ ...deps, db: trx }, await findKeyInState(trx, 'current'), next.row)
  })
}

/**
 * Rotate when the current key is older than `rotationDays`; true when this call rotated. A next
 * key too young to sign postpones the rotation (the current key keeps signing) to a later call.
 */
export async function rotateKeyRingIfDue (deps: KeyRingDeps, rotationDays: number): Promise<boolean> {
  if (rotationDays <= 0) return false
  return await deps.db.transaction().execute(async (trx) => {
    await lockKeyRing(trx)
    const current = await findKeyInState(trx, 'current')
    // Checked again under the lock: only one instance rotates for a given due date.
    if (current !== undefined && !isRotationDue(current, deps.clock.now(), rotationDays)) return false
    const next = await promotableNext({ ...deps, db: trx })
    if (!next.ready) return false
    await rotateLocked({ ...deps, db: trx }, current, next.row)
    return true
  })
}

export function isRotationDue (
  current: Pick<SigningKeyRow, 'activated_at' | 'created_at'>, now: Date, rotationDays: number
): boolean {
  const since = current.activated_at ?? current.created_at
  return rotationDays > 0 && now.getTime() - since.getTime() >= rotationDays * 86_400_000
}

/** When a next key may sign: once it has been published for `minPublishedSeconds`. */
export function promotableAt (
  deps: Pick<KeyRingDeps, 'minPublishedSeconds'>, next: Pick<SigningKeyRow, 'created_at'>
): Date {
  return addSeconds(next.created_at, deps.minPublishedSeconds)
}

type NextKey = { ready: true, row: SigningKeyRow } | { ready: false, row: SigningKeyRow }

/**
 * The next key, made to match JWT_ALG first (a next key of another algorithm has signed nothing
 * and is replaced), and whether it has been published long enough to sign.
 */
async function promotableNext (deps: KeyRingDeps): Promise<NextKey> {
  let next = await findKeyInState(deps.db, 'next')
  if (next === undefined || next.alg !== deps.alg) {
    if (next !== undefined) await deleteKey(deps.db, next.kid)
    await addKey(deps, 'next')
    next = (await findKeyInState(deps.db, 'next'))!
  }
  return { ready: promotableAt(deps, next).getTime() <= deps.clock.now().getTime(), row: next }
}

function notReady (deps: KeyRingDeps, next: SigningKeyRow): KeyNotReadyError {
  const publishedSeconds = Math.max(0, Math.floor((deps.clock.now().getTime() - next.created_at.getTime()) / 1000))
  return new KeyNotReadyError(next.kid, promotableAt(deps, next), publishedSeconds, deps.minPublishedSeconds)
}

/**
 * Private halves sealed before ciphertexts were bound to their row are sealed again, bound to
 * their kid. One that does not open is left as it is (KeyStore reports it if it must sign).
 */
async function resealLegacyKeys (deps: KeyRingDeps): Promise<void> {
  for (const row of await findKeyCiphertexts(deps.db)) {
    if (!isLegacyCiphertext(row.private_jwk_ciphertext)) continue
    let plaintext: string
    try {
      plaintext = deps.secretBox.open(row.private_jwk_ciphertext, signingKeyAad(row.kid))
      if ((JSON.parse(plaintext) as { kid?: unknown }).kid !== row.kid) continue
    } catch {
      continue
    }
    await updateKeyCiphertext(deps.db, row.kid, deps.secretBox.seal(plaintext, signingKeyAad(row.kid)))
  }
}

async function rotateLocked (
  deps: KeyRingDeps, current: SigningKeyRow | undefined, next: SigningKeyRow
): Promise<RotatedKeys> {
  const now = deps.clock.now()
  await deleteExpiredKeys(deps.db, now)
  if (current !== undefined) {
    await retireKey(deps.db, current.kid, now, addSeconds(now, deps.retiredKeyRetentionSeconds))
  }
  await promoteKey(deps.db, next.kid, now)
  const newNext = await addKey(deps, 'next')
  return { retired: current?.kid, current: next.kid, next: newNext }
}

async function addKey (deps: KeyRingDeps, state: 'current' | 'next'): Promise<string> {
  const key = await generateSigningKey(deps.alg)
  await insertSigningKey(deps.db, {
    kid: key.kid,
    alg: key.alg,
    state,
    publicJwk: key.publicJwk,
    privateJwkCiphertext: deps.secretBox.seal(JSON.stringify(key.privateJwk), signingKeyAad(key.kid)),
    now: deps.clock.now()
  })
  return key.kid
}
