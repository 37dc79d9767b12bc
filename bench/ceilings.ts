import argon2 from 'argon2'
import type { DatabaseHandle } from '../src/db/connect.js'
import { insertRefreshToken } from '../src/db/repositories/refresh-tokens.js'
import { rotateByHash } from '../src/db/repositories/rotate-statement.js'
import { insertSession } from '../src/db/repositories/sessions.js'
import { insertUser } from '../src/db/repositories/users.js'
import { ARGON2_PARAMETERS } from '../src/domain/credentials/password.js'
import { generateRefreshToken } from '../src/domain/sessions/refresh-token.js'
import { newId } from '../src/lib/random.js'

export interface CeilingResult { name: string, perSecond: number, p50ms?: number, p99ms?: number, errors: number }

/** Runs `work` from `concurrency` loops for `seconds`; latencies of every call. */
interface Saturation { perSecond: number, p50ms: number, p99ms: number, errors: number }

async function saturate (
  concurrency: number, seconds: number, work: (slot: number) => Promise<boolean>
): Promise<Saturation> {
  const latencies: number[] = []
  let errors = 0
  const started = performance.now()
  const end = started + seconds * 1000
  await Promise.all(Array.from({ length: concurrency }, async (_, slot) => {
    while (performance.now() < end) {
      const at = performance.now()
      if (!await work(slot)) errors++
      latencies.push(performance.now() - at)
    }
  }))
  const elapsed = (performance.now() - started) / 1000
  latencies.sort((a, b) => a - b)
  const quantile = (q: number): number => {
    const value = latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * q))] ?? 0
    return Math.round(value * 100) / 100
  }
  return { perSecond: Math.round(latencies.length / elapsed), p50ms: quantile(0.5), p99ms: quantile(0.99), errors }
}

/**
 * argon2id verifications per second at the service's own parameters, as many at once as the
 * service allows (PASSWORD_HASH_CONCURRENCY): no login can be faster than this.
 */
export async function argon2Ceiling (concurrency: number, seconds: number): Promise<CeilingResult> {
  const password = 'benchmark passphrase 12345'
  const hash = await argon2.hash(password, ARGON2_PARAMETERS)
  const result = await saturate(concurrency, seconds, async () => await argon2.verify(hash, password))
  const { memoryCost, timeCost } = ARGON2_PARAMETERS
  return { name: `argon2id verify (m=${memoryCost} KiB, t=${timeCost}), ${concurrency} at once`, ...result }
}

// A sealed successor of the real length; the statement only stores it.
const SUCCESSOR_CIPHERTEXT = `v2.${'x'.repeat(96)}`

/**
 * The rotation statement alone, through the service's repository code (rotateByHash), with
 * `concurrency` callers each walking its own chain: the database's ceiling for a refresh.
 */
export async function rotationCeiling (
  database: DatabaseHandle, concurrency: number, seconds: number
): Promise<CeilingResult> {
  const now = new Date()
  const email = `ceiling-${newId()}@example.com`
  const user = await insertUser(database.db, { id: newId(), email, passwordHash: 'not-a-hash' })
  const chains = await Promise.all(Array.from({ length: concurrency }, async () => {
    const sessionId = newId()
    const first = generateRefreshToken()
    await insertSession(database.db, {
      id: sessionId,
      userId: user.id,
      clientId: 'first-party',
      delivery: 'body',
      scope: null,
      userAgent: 'bench',
      ip: '127.0.0.1',
      now,
      expiresAt: new Date(now.getTime() + 86_400_000)
    })
    await insertRefreshToken(database.db, { id: newId(), sessionId, tokenHash: first.tokenHash, now })
    return first.tokenHash
  }))
  const result = await saturate(concurrency, seconds, async (slot) => {
    const next = generateRefreshToken()
    const row = await rotateByHash(database.db, {
      tokenHash: chains[slot]!,
      next: { id: newId(), tokenHash: next.tokenHash, ciphertext: SUCCESSOR_CIPHERTEXT },
      graceSeconds: 10,
      idleSeconds: 86_400,
      clientId: null,
      bodyDeliveryOnly: false,
      at: null,
      auditId: newId(),
      ip: '127.0.0.1',
      userAgent: 'bench'
    })
    if (row?.verdict !== 'rotate') return false
    chains[slot] = next.tokenHash
    return true
  })
  return { name: `rotation statement (rotateByHash), ${concurrency} callers`, ...result }
}
