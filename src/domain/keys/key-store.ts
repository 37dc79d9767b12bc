import { createHash, type KeyObject } from 'node:crypto'
import type { JWK } from 'jose'
import type { SigningKeyRow } from '../../db/database.js'
import { findPublishedKeys } from '../../db/repositories/signing-keys.js'
import { VerifiedTokens } from '../tokens/jws.js'
import { ensureKeyRing, rotateKeyRing, rotateKeyRingIfDue, type KeyRingDeps, type KeyRingState } from './key-ring.js'
import type { SigningAlgorithm } from './signing-algorithms.js'
import { importKey, importKeyObject, signingKeyAad, type KeyHandle } from './signing-key.js'

/** `key` for jose (and WebCrypto), `keyObject` for node:crypto: the same key. */
export interface ActiveSigningKey { kid: string, alg: SigningAlgorithm, key: KeyHandle, keyObject: KeyObject }
export interface VerificationKey { kid: string, alg: SigningAlgorithm, key: KeyHandle, keyObject: KeyObject }
export interface JwksDocument { keys: JWK[] }

// An unknown kid triggers at most one reload in this interval, so garbage kids cannot turn every
// request into a database query.
const UNKNOWN_KID_RELOAD_INTERVAL_MS = 5_000

/**
 * The signing keys as this instance knows them: loaded from the database at start, reloaded
 * periodically (so every instance follows a rotation made by any other) and on an unknown kid.
 * The JWKS is served from memory, so it keeps answering while the database is down.
 */
export class KeyStore {
  readonly #deps: KeyRingDeps
  #signing: ActiveSigningKey | undefined
  #verification = new Map<string, VerificationKey>()
  #jwks: JwksDocument = { keys: [] }
  #etag = ''
  #lastLoad = 0
  /** Access tokens whose signature this instance has checked (see tokens/jws.ts). */
  readonly verifiedTokens = new VerifiedTokens()

  constructor (deps: KeyRingDeps) {
    this.#deps = deps
  }

  /** Make sure a current and a next key exist, then load them. */
  async initialize (): Promise<KeyRingState> {
    const state = await ensureKeyRing(this.#deps)
    await this.reload()
    return state
  }

  async reload (): Promise<void> {
    this.#lastLoad = Date.now()
    const rows = await findPublishedKeys(this.#deps.db, this.#deps.clock.now())
    const verification = new Map<string, VerificationKey>()
    let signing: ActiveSigningKey | undefined
    for (const row of rows) {
      const alg = row.alg as SigningAlgorithm
      const publicJwk = row.public_jwk as JWK
      const key = await importKey(publicJwk, alg)
      verification.set(row.kid, { kid: row.kid, alg, key, keyObject: importKeyObject(publicJwk) })
      if (row.state === 'current') signing = { kid: row.kid, alg, ...await this.#importPrivate(row, alg) }
    }
    if (signing === undefined) throw new Error('no current signing key in the database')
    this.#signing = signing
    this.#verification = verification
    this.#jwks = { keys: rows.map((row) => row.public_jwk as JWK) }
    this.#etag = `"${createHash('sha256').update(JSON.stringify(this.#jwks)).digest('base64url').slice(0, 32)}"`
  }

  async rotate (): Promise<void> {
    await rotateKeyRing(this.#deps)
    await this.reload()
  }

  /**
   * Rotate if the current key is due (or JWT_ALG changed) and the next key may sign; reload either
   * way so this instance follows the ring.
   */
  async rotateIfDue (rotationDays: number): Promise<boolean> {
    const rotated = await rotateKeyRingIfDue(this.#deps, rotationDays)
    await this.reload()
    return rotated
  }

  signingKey (): ActiveSigningKey {
    if (this.#signing === undefined) throw new Error('key store used before initialize()')
    return this.#signing
  }

  /** The public key for a kid, reloading once (rate limited) when the kid is not known yet. */
  async verificationKey (kid: string): Promise<VerificationKey | undefined> {
    const known = this.#verification.get(kid)
    if (known !== undefined) return known
    if (Date.now() - this.#lastLoad < UNKNOWN_KID_RELOAD_INTERVAL_MS) return undefined
    try {
      await this.reload()
    } catch {
      return undefined
    }
    return this.#verification.get(kid)
  }

  /** Whether a kid is published now (no reload): a remembered signature counts only while it is. */
  isPublished (kid: string): boolean {
    return this.#verification.has(kid)
  }

  /** Algorithms of the published keys: the only ones a token may claim. */
  algorithms (): SigningAlgorithm[] {
    return [...new Set([...this.#verification.values()].map((key) => key.alg))]
  }

  jwks (): { document: JwksDocument, etag: string } {
    return { document: this.#jwks, etag: this.#etag }
  }

  /**
   * The current key's private half. A ciphertext that does not open under this row's kid (another
   * KEY_ENCRYPTION_SECRET, or a ciphertext copied from another row) makes the key unusable: this
   * instance refuses to sign with it rather than sign under a kid whose public key does not match.
   */
  async #importPrivate (row: SigningKeyRow, alg: SigningAlgorithm): Promise<{ key: KeyHandle, keyObject: KeyObject }> {
    let jwk: JWK
    try {
      jwk = JSON.parse(this.#deps.secretBox.open(row.private_jwk_ciphertext, signingKeyAad(row.kid))) as JWK
    } catch {
      throw new Error(`the private part of signing key ${row.kid} cannot be decrypted: KEY_ENCRYPTION_SECRET differs ` +
        'from the one that sealed it, or the row was altered')
    }
    if (jwk.kid !== row.kid) throw new Error(`the private part of signing key ${row.kid} belongs to another key`)
    return { key: await importKey(jwk, alg), keyObject: importKeyObject(jwk) }
  }
}
