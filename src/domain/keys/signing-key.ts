import { createPrivateKey, createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto'
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose'

import type { SigningAlgorithm } from './signing-algorithms.js'

export type { SigningAlgorithm } from './signing-algorithms.js'

/** A freshly generated key pair as JWKs; the kid is the RFC 7638 thumbprint of the public key. */
export interface GeneratedKey {
  kid: string
  alg: SigningAlgorithm
  publicJwk: JWK
  privateJwk: JWK
}

// Only the members RFC 7517/7518 define for public keys of these types: never d, p, q, dp, dq, qi.
const PUBLIC_MEMBERS: Record<string, readonly string[]> = {
  EC: ['kty', 'crv', 'x', 'y'],
  OKP: ['kty', 'crv', 'x'],
  RSA: ['kty', 'n', 'e']
}

/** The public part of a JWK, with `kid`, `alg` and `use: "sig"` as the JWKS publishes it. */
export function toPublicJwk (jwk: JWK, kid: string, alg: SigningAlgorithm): JWK {
  const members = PUBLIC_MEMBERS[jwk.kty ?? ''] ?? []
  const source = jwk as Record<string, unknown>
  const publicJwk: Record<string, unknown> = {}
  for (const member of members) publicJwk[member] = source[member]
  return { ...publicJwk, kid, alg, use: 'sig' }
}

export async function generateSigningKey (alg: SigningAlgorithm): Promise<GeneratedKey> {
  const { publicKey, privateKey } = await generateKeyPair(alg, {
    extractable: true,
    ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}),
    ...(alg === 'RS256' ? { modulusLength: 2048 } : {})
  })
  const exportedPublic = await exportJWK(publicKey)
  const kid = await calculateJwkThumbprint(exportedPublic, 'sha256')
  return {
    kid,
    alg,
    publicJwk: toPublicJwk(exportedPublic, kid, alg),
    privateJwk: { ...(await exportJWK(privateKey)), kid, alg }
  }
}

/** A key usable by jose to sign or verify (a WebCrypto key; never raw HMAC bytes). */
export type KeyHandle = Exclude<Awaited<ReturnType<typeof importJWK>>, Uint8Array>

export async function importKey (jwk: JWK, alg: SigningAlgorithm): Promise<KeyHandle> {
  return await importJWK(jwk, alg) as KeyHandle
}

/** The same key as a node:crypto KeyObject, which signs and verifies synchronously (see tokens/jws.ts). */
export function importKeyObject (jwk: JWK): KeyObject {
  const input = { key: jwk as JsonWebKey, format: 'jwk' as const }
  return jwk.d === undefined ? createPublicKey(input) : createPrivateKey(input)
}

/** The associated data a signing key's sealed private JWK is bound to: its own row's kid. */
export const signingKeyAad = (kid: string): string => `signing-key:${kid}`
