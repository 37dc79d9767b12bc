import { createCipheriv, hkdfSync, randomBytes } from 'node:crypto'

/**
 * A ciphertext exactly as the service wrote it before ciphertexts were bound to their row
 * (`v1.`: AES-256-GCM, associated data = the purpose only), to prove such rows still open.
 */
export function legacySeal (secret: string, purpose: string, plaintext: string): string {
  const ikm = Buffer.from(secret, 'utf8')
  const key = Buffer.from(hkdfSync('sha256', ikm, Buffer.from('token-service'), Buffer.from(purpose), 32))
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', key, iv).setAAD(Buffer.from(purpose))
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
  return `v1.${Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url')}`
}
