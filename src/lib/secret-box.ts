import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto'

/**
 * Authenticated encryption of small secrets at rest (signing keys, grace-window tokens). Every
 * ciphertext is bound to a `context` naming the row it belongs to (a kid, a token id): opened
 * with another context, as it would be after being copied into another row, it fails.
 */
export interface SecretBox {
  seal: (plaintext: string, context: string) => string
  open: (sealed: string, context: string) => string
}

/**
 * Formats, told apart by a version prefix rather than by trying one rule after the other, so a
 * bound ciphertext can never be opened under the weaker rule:
 * - `v2.` (written now): associated data = purpose, NUL, context.
 * - `v1.` (rows written before ciphertexts were bound to their row): associated data = purpose
 *   only; still opened, whatever the context, so existing keys and grace tokens keep working.
 *   Signing keys are re-sealed as v2 at start; grace tokens live for seconds and need no upgrade.
 */
const BOUND = 'v2'
const LEGACY = 'v1'
const IV_BYTES = 12
// Pinned on both sides: a shorter tag (GCM allows 4 to 16 bytes) would make forgeries cheaper.
const TAG_BYTES = 16

/**
 * AES-256-GCM under a key derived with HKDF-SHA256 from the operator's secret and a purpose label,
 * so that one KEY_ENCRYPTION_SECRET yields independent keys for independent uses. The purpose is
 * also bound as associated data: a ciphertext cannot be replayed under another purpose.
 */
export function createSecretBox (secret: string, purpose: string): SecretBox {
  const key = Buffer.from(
    hkdfSync('sha256', Buffer.from(secret, 'utf8'), Buffer.from('token-service'), Buffer.from(purpose), 32)
  )
  const boundAad = (context: string): Buffer => Buffer.from(`${purpose}\u0000${context}`, 'utf8')
  return {
    seal (plaintext, context) {
      const iv = randomBytes(IV_BYTES)
      const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES }).setAAD(boundAad(context))
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
      return `${BOUND}.${Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url')}`
    },
    open (sealed, context) {
      const [version, payload, extra] = sealed.split('.')
      if ((version !== BOUND && version !== LEGACY) || payload === undefined || extra !== undefined) {
        throw new Error('unsupported ciphertext format')
      }
      const bytes = Buffer.from(payload, 'base64url')
      if (bytes.length < IV_BYTES + TAG_BYTES) throw new Error('truncated ciphertext')
      const iv = bytes.subarray(0, IV_BYTES)
      const tag = bytes.subarray(bytes.length - TAG_BYTES)
      const aad = version === BOUND ? boundAad(context) : Buffer.from(purpose)
      const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES }).setAAD(aad)
      decipher.setAuthTag(tag)
      const body = bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)
      return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8')
    }
  }
}

/** True for a ciphertext written before ciphertexts were bound to their row. */
export const isLegacyCiphertext = (sealed: string): boolean => sealed.startsWith(`${LEGACY}.`)
