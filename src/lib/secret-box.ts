import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto'

/** Authenticated encryption of small secrets at rest (signing keys, grace-window tokens). */
export interface SecretBox {
  seal: (plaintext: string) => string
  open: (sealed: string) => string
}

const VERSION = 'v1'
const IV_BYTES = 12
const TAG_BYTES = 16

/**
 * AES-256-GCM under a key derived with HKDF-SHA256 from the operator's secret and a purpose label,
 * so that one KEY_ENCRYPTION_SECRET yields independent keys for independent uses. The purpose is
 * also bound as associated data: a ciphertext cannot be replayed under another purpose.
 */
export function createSecretBox (secret: string, purpose: string): SecretBox {
  const key = Buffer.from(hkdfSync('sha256', Buffer.from(secret, 'utf8'), Buffer.from('token-service'), Buffer.from(purpose), 32))
  const aad = Buffer.from(purpose)
  return {
    seal (plaintext) {
      const iv = randomBytes(IV_BYTES)
      const cipher = createCipheriv('aes-256-gcm', key, iv).setAAD(aad)
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
      return `${VERSION}.${Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url')}`
    },
    open (sealed) {
      const [version, payload] = sealed.split('.')
      if (version !== VERSION || payload === undefined) throw new Error('unsupported ciphertext format')
      const bytes = Buffer.from(payload, 'base64url')
      const iv = bytes.subarray(0, IV_BYTES)
      const tag = bytes.subarray(bytes.length - TAG_BYTES)
      const decipher = createDecipheriv('aes-256-gcm', key, iv).setAAD(aad)
      decipher.setAuthTag(tag)
      return Buffer.concat([decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)), decipher.final()]).toString('utf8')
    }
  }
}
