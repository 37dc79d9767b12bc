import { sql, type Kysely } from 'kysely'
import type { Database, SigningKeyRow } from '../database.js'

// One advisory lock serialises every change to the key ring across all instances.
const KEY_RING_LOCK = 7_239_001

export async function lockKeyRing (trx: Kysely<Database>): Promise<void> {
  await sql`select pg_advisory_xact_lock(${KEY_RING_LOCK})`.execute(trx)
}

/** Keys the JWKS publishes at `now`: the current and next keys, and retired keys still in their window. */
export async function findPublishedKeys (db: Kysely<Database>, now: Date): Promise<SigningKeyRow[]> {
  return await db.selectFrom('signing_keys').selectAll()
    .where((eb) => eb.or([
      eb('state', 'in', ['current', 'next']),
      eb.and([eb('state', '=', 'retired'), eb('publish_until', '>', now)])
    ]))
    .orderBy('created_at')
    .execute()
}

export async function findKeyInState (
  db: Kysely<Database>, state: 'current' | 'next'
): Promise<SigningKeyRow | undefined> {
  return await db.selectFrom('signing_keys').selectAll().where('state', '=', state).executeTakeFirst()
}

export interface NewSigningKey {
  kid: string
  alg: string
  state: 'current' | 'next'
  publicJwk: object
  privateJwkCiphertext: string
  now: Date
}

export async function insertSigningKey (db: Kysely<Database>, key: NewSigningKey): Promise<void> {
  await db.insertInto('signing_keys').values({
    kid: key.kid,
    alg: key.alg,
    state: key.state,
    public_jwk: JSON.stringify(key.publicJwk),
    private_jwk_ciphertext: key.privateJwkCiphertext,
    created_at: key.now,
    activated_at: key.state === 'current' ? key.now : null
  }).execute()
}

export async function retireKey (db: Kysely<Database>, kid: string, now: Date, publishUntil: Date): Promise<void> {
  await db.updateTable('signing_keys')
    .set({ state: 'retired', retired_at: now, publish_until: publishUntil })
    .where('kid', '=', kid)
    .execute()
}

export async function promoteKey (db: Kysely<Database>, kid: string, now: Date): Promise<void> {
  await db.updateTable('signing_keys').set({ state: 'current', activated_at: now }).where('kid', '=', kid).execute()
}

export async function deleteKey (db: Kysely<Database>, kid: string): Promise<void> {
  await db.deleteFrom('signing_keys').where('kid', '=', kid).execute()
}

/** Retired keys whose tokens have all expired are of no use to anyone: delete them. */
export async function deleteExpiredKeys (db: Kysely<Database>, now: Date): Promise<void> {
  await db.deleteFrom('signing_keys').where('state', '=', 'retired').where('publish_until', '<=', now).execute()
}

/** Every key's sealed private half, for re-sealing ciphertexts written in an older format. */
export async function findKeyCiphertexts (
  db: Kysely<Database>
): Promise<Array<{ kid: string, private_jwk_ciphertext: string }>> {
  return await db.selectFrom('signing_keys').select(['kid', 'private_jwk_ciphertext']).execute()
}

export async function updateKeyCiphertext (db: Kysely<Database>, kid: string, ciphertext: string): Promise<void> {
  await db.updateTable('signing_keys').set({ private_jwk_ciphertext: ciphertext }).where('kid', '=', kid).execute()
}
