import { sign, verify, type KeyObject } from 'node:crypto'
import type { ActiveSigningKey, KeyStore } from '../keys/key-store.js'
import type { SigningAlgorithm } from '../keys/signing-algorithms.js'

/**
 * Compact JWS (RFC 7515) signed and verified with node:crypto KeyObjects: synchronous OpenSSL
 * calls, several times faster than WebCrypto through jose for ES256, with the same rules.
 */

// The hash each algorithm signs with; Ed25519 hashes internally (node:crypto takes null).
const DIGEST: Record<SigningAlgorithm, string | null> = { ES256: 'sha256', EdDSA: null, RS256: 'sha256' }

// JWS ES256 signatures are r || s (RFC 7518 §3.4), not OpenSSL's default DER.
const keyInput = (alg: SigningAlgorithm, key: KeyObject): KeyObject | { key: KeyObject, dsaEncoding: 'ieee-p1363' } =>
  alg === 'ES256' ? { key, dsaEncoding: 'ieee-p1363' } : key

// The protected header is the same for every token a key signs: encoded once per key and typ.
const encodedHeaders = new WeakMap<ActiveSigningKey, Map<string, string>>()

function protectedHeader (key: ActiveSigningKey, typ: string): string {
  let byTyp = encodedHeaders.get(key)
  if (byTyp === undefined) encodedHeaders.set(key, byTyp = new Map())
  let header = byTyp.get(typ)
  if (header === undefined) {
    header = Buffer.from(JSON.stringify({ alg: key.alg, kid: key.kid, typ })).toString('base64url')
    byTyp.set(typ, header)
  }
  return header
}

/** `header.payload.signature` with header {alg, kid, typ} of `key`. */
export function signCompact (key: ActiveSigningKey, typ: string, claims: object): string {
  const input = `${protectedHeader(key, typ)}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`
  const signature = sign(DIGEST[key.alg], Buffer.from(input), keyInput(key.alg, key.keyObject))
  return `${input}.${signature.toString('base64url')}`
}

export type VerifiedCompact =
  | { kind: 'verified', header: Record<string, unknown>, payload: Record<string, unknown> }
  | { kind: 'malformed' }
  | { kind: 'bad_signature' }
  /** No published key has the token's kid, or the key's algorithm is not the token's alg. */
  | { kind: 'unknown_key' }
  | { kind: 'wrong_typ' }

type Verified = Extract<VerifiedCompact, { kind: 'verified' }>

/**
 * Tokens whose signature this instance has already checked, by their exact text (a client sends
 * the same access token on every call until it expires). Only the signature check is skipped:
 * claims, expiry and session liveness are still checked on every request, so a revocation takes
 * effect at once; and a hit counts only while its key is still published.
 */
export class VerifiedTokens {
  readonly #entries = new Map<string, { kid: string, verified: Verified }>()
  constructor (readonly capacity = 1024) {}

  get (token: string, isPublished: (kid: string) => boolean): Verified | undefined {
    const entry = this.#entries.get(token)
    if (entry === undefined) return undefined
    if (isPublished(entry.kid)) return entry.verified
    this.#entries.delete(token)
    return undefined
  }

  set (token: string, kid: string, verified: Verified): void {
    // Oldest first: Map iteration follows insertion order.
    if (this.#entries.size >= this.capacity) this.#entries.delete(this.#entries.keys().next().value!)
    this.#entries.set(token, { kid, verified: deepFreeze(verified) })
  }
}

// A cached result is shared by every request that presents the token: nobody may change it.
function deepFreeze<T> (value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const member of Object.values(value)) deepFreeze(member)
  }
  return value
}

export type VerificationKeys = Pick<KeyStore, 'verificationKey' | 'isPublished' | 'verifiedTokens'>

const SEGMENT = /^[A-Za-z0-9_-]+$/

function decodeJsonObject (segment: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'))
    const isObject = typeof value === 'object' && value !== null && !Array.isArray(value)
    return isObject ? value as Record<string, unknown> : undefined
  } catch {
    return undefined
  }
}

// RFC 7515 §4.1.9 as jose applies it: case-insensitive, "application/" may be left out.
const normalizeTyp = (typ: string): string => typ.toLowerCase().replace(/^application\//, '')

/**
 * Verify a compact JWS whose key must come from `keys` by kid. Pinned: exactly three segments;
 * the header a JSON object with a string alg equal to the kid's key's own algorithm (so `none`,
 * HMAC and algorithm confusion cannot pass); no `crit` (we never sign with extensions, so b64:false
 * cannot appear); jku, x5u, x5c and jwk are never read; typ equal to `typ`; the payload a JSON object.
 * Only the signature is checked here (and remembered, see VerifiedTokens): the claims are the caller's.
 */
export async function verifyCompact (token: string, keys: VerificationKeys, typ: string): Promise<VerifiedCompact> {
  const cached = keys.verifiedTokens.get(token, (kid) => keys.isPublished(kid))
  if (cached !== undefined) return cached
  const parts = token.split('.')
  if (parts.length !== 3 || !parts.every((part) => SEGMENT.test(part))) return { kind: 'malformed' }
  const [encodedHeader, encodedPayload, encodedSignature] = parts as [string, string, string]
  const header = decodeJsonObject(encodedHeader)
  if (header === undefined || typeof header.alg !== 'string' || header.crit !== undefined) return { kind: 'malformed' }
  const key = typeof header.kid === 'string' ? await keys.verificationKey(header.kid) : undefined
  if (key === undefined || header.alg !== key.alg) return { kind: 'unknown_key' }
  let valid: boolean
  try {
    valid = verify(DIGEST[key.alg], Buffer.from(`${encodedHeader}.${encodedPayload}`), keyInput(key.alg, key.keyObject),
      Buffer.from(encodedSignature, 'base64url'))
  } catch {
    valid = false
  }
  if (!valid) return { kind: 'bad_signature' }
  const payload = decodeJsonObject(encodedPayload)
  if (payload === undefined) return { kind: 'malformed' }
  if (typeof header.typ !== 'string' || normalizeTyp(header.typ) !== normalizeTyp(typ)) return { kind: 'wrong_typ' }
  const verified: Verified = { kind: 'verified', header, payload }
  keys.verifiedTokens.set(token, key.kid, verified)
  return verified
}
