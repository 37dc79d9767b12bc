import { randomBytes, randomFillSync } from 'node:crypto'

// Ids are not secrets: their randomness is drawn from one buffer filled 256 ids at a time, so a
// refresh (three ids) is not three CSPRNG calls. Tokens and keys never come from this pool.
const ID_BYTES = 16
const POOL_IDS = 256
let pool = Buffer.alloc(0)
let poolOffset = 0

function idBytes (): Buffer {
  if (poolOffset + ID_BYTES > pool.length) {
    pool = randomFillSync(Buffer.allocUnsafe(ID_BYTES * POOL_IDS))
    poolOffset = 0
  }
  const bytes = pool.subarray(poolOffset, poolOffset + ID_BYTES)
  poolOffset += ID_BYTES
  return bytes
}

/**
 * A UUID version 7 (RFC 9562): 48 bits of milliseconds, then randomness. Time-ordered ids keep
 * B-tree inserts local; PostgreSQL 15 has no `uuidv7()`, so the service makes them.
 */
export function newId (now: number = Date.now()): string {
  const bytes = idBytes()
  bytes.writeUIntBE(now, 0, 6)
  bytes[6] = (bytes[6]! & 0x0f) | 0x70
  bytes[8] = (bytes[8]! & 0x3f) | 0x80
  const hex = bytes.toString('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

/** `bytes` bytes from the CSPRNG, base64url-encoded. */
export function randomToken (bytes = 32): string {
  return randomBytes(bytes).toString('base64url')
}
