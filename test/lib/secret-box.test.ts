import t from 'tap'
import { createSecretBox } from '../../src/lib/secret-box.js'
import { TEST_ENV } from '../helper.js'
import { legacySeal as sealLegacy } from '../support/legacy-seal.js'

/*
 * The secret box seals signing keys' private JWKs and grace-window refresh tokens with AES-256-GCM:
 * the tag length is pinned to 16 bytes, and every ciphertext is bound to its row (a context such
 * as the kid or the token id) as well as to its purpose. Ciphertexts written before the binding
 * (`v1.`) still open.
 */

const secret = TEST_ENV.KEY_ENCRYPTION_SECRET!
const box = createSecretBox(secret, 'signing-keys')
const payloadOf = (sealed: string): Buffer => Buffer.from(sealed.slice(3), 'base64url')

const legacySeal = (plaintext: string, purpose = 'signing-keys'): string => sealLegacy(secret, purpose, plaintext)

t.test('seals authenticated ciphertexts bound to their purpose', async (t) => {
  const plaintext = JSON.stringify({ kty: 'EC', d: 'private-🔑-ümlaut' })
  const sealed = box.seal(plaintext, 'kid-1')
  t.equal(box.open(sealed, 'kid-1'), plaintext, 'round trip')
  t.match(sealed, /^v2\.[\w-]+$/)
  t.not(box.seal(plaintext, 'kid-1'), sealed, 'a fresh IV per seal: equal plaintexts give different ciphertexts')
  t.notOk(sealed.includes('private'), 'the plaintext does not show')

  const bytes = payloadOf(sealed)
  for (const index of [0, 12, Math.floor(bytes.length / 2), bytes.length - 1]) {
    const flipped = Buffer.from(bytes)
    flipped[index] = flipped[index]! ^ 0x01
    t.throws(
      () => box.open(`v2.${flipped.toString('base64url')}`, 'kid-1'),
      `a flipped bit at byte ${index} is detected`
    )
  }
  const cutShort = `v2.${bytes.subarray(0, bytes.length - 1).toString('base64url')}`
  t.throws(() => box.open(cutShort, 'kid-1'), 'a truncated ciphertext is refused')
  t.throws(() => box.open(`v3.${sealed.slice(3)}`, 'kid-1'), 'an unknown version is refused')
  t.throws(() => box.open('v2', 'kid-1'), 'a malformed ciphertext is refused')
  t.throws(() => box.open(`${sealed}.extra`, 'kid-1'), 'trailing parts are refused')
  t.throws(
    () => createSecretBox(secret, 'refresh-token-successor').open(sealed, 'kid-1'),
    'another purpose cannot open it'
  )
  t.throws(
    () => createSecretBox(`${secret}-other`, 'signing-keys').open(sealed, 'kid-1'),
    'another secret cannot open it'
  )
})

t.test('a ciphertext is bound to its row: another context cannot open it', async (t) => {
  const sealed = box.seal('the private key of kid-1', 'signing-key:kid-1')
  t.throws(() => box.open(sealed, 'signing-key:kid-2'), 'copied into the row of kid-2, it does not open')
  t.throws(() => box.open(sealed, ''), 'nor without a context')
  t.throws(() => box.open(sealed, 'signing-key:kid-1 '), 'the context is compared exactly')
  t.equal(box.open(sealed, 'signing-key:kid-1'), 'the private key of kid-1')
  // The purpose and the context are separated, so they cannot be shifted into each other.
  const shifted = createSecretBox(secret, 'signing-keys\u0000signing-key:kid-1')
  t.throws(() => shifted.open(sealed, ''), 'a purpose that swallows the context is another key and other data')
})

t.test('a truncated authentication tag is refused before it reaches GCM', async (t) => {
  // An empty plaintext leaves exactly IV (12 bytes) + tag (16 bytes): cutting the tag to 12, 8 or 4
  // bytes (lengths GCM would accept unless the tag length is pinned) must be refused.
  const sealed = box.seal('', 'kid-1')
  const bytes = payloadOf(sealed)
  t.equal(bytes.length, 28, 'IV + 16-byte tag')
  for (const tagBytes of [15, 12, 8, 4]) {
    const truncated = `v2.${bytes.subarray(0, 12 + tagBytes).toString('base64url')}`
    t.throws(
      () => box.open(truncated, 'kid-1'),
      { message: 'truncated ciphertext' },
      `a ${tagBytes}-byte tag is refused`
    )
  }
  const legacy = payloadOf(legacySeal(''))
  const legacyTruncated = `v1.${legacy.subarray(0, 16).toString('base64url')}`
  t.throws(() => box.open(legacyTruncated, 'kid-1'), { message: 'truncated ciphertext' },
    'in the legacy format too')
})

t.test('ciphertexts written before the binding still open, under any context', async (t) => {
  const legacy = legacySeal('{"kid":"old"}')
  t.equal(box.open(legacy, 'signing-key:old'), '{"kid":"old"}', 'a v1 ciphertext opens')
  t.throws(() => createSecretBox(secret, 'refresh-token-successor').open(legacySeal('x'), 'refresh-token:1'),
    'its purpose is still checked')
  const bound = box.seal('secret', 'signing-key:new')
  t.throws(
    () => box.open(`v1.${bound.slice(3)}`, 'signing-key:new'),
    'a bound ciphertext relabelled v1 does not open under the legacy rule'
  )
})
