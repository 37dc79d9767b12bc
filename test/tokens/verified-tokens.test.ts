import { generateKeyPairSync } from 'node:crypto'
import t from 'tap'
import { exportJWK, jwtVerify } from 'jose'
import type { ActiveSigningKey, VerificationKey } from '../../src/domain/keys/key-store.js'
import { signCompact, verifyCompact, VerifiedTokens, type VerificationKeys } from '../../src/domain/tokens/jws.js'

/** A key ring of one real ES256 key that can be unpublished, as a key rotation would. */
async function ring (): Promise<{ keys: VerificationKeys & { published: boolean }, signing: ActiveSigningKey }> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const signing = { kid: 'kid-1', alg: 'ES256', key: privateKey, keyObject: privateKey } as unknown as ActiveSigningKey
  const verification = { kid: 'kid-1', alg: 'ES256', key: publicKey, keyObject: publicKey } as unknown as
    VerificationKey
  const keys = {
    published: true,
    verifiedTokens: new VerifiedTokens(2),
    async verificationKey (kid: string) { return keys.published && kid === 'kid-1' ? verification : undefined },
    isPublished (kid: string) { return keys.published && kid === 'kid-1' }
  }
  t.ok(await exportJWK(publicKey), 'a real key')
  return { keys, signing }
}

t.test('a compact JWS signed with node:crypto verifies with jose (ES256 in IEEE P1363)', async (t) => {
  const { signing, keys } = await ring()
  const token = signCompact(signing, 'at+jwt', { sub: 'u', exp: Math.floor(Date.now() / 1000) + 60 })
  const verification = (await keys.verificationKey('kid-1'))!
  const options = { typ: 'at+jwt', algorithms: ['ES256'] }
  const { payload, protectedHeader } = await jwtVerify(token, verification.keyObject, options)
  t.equal(payload.sub, 'u')
  t.same(protectedHeader, { alg: 'ES256', kid: 'kid-1', typ: 'at+jwt' })
})

t.test('a remembered signature counts only while its key is published', async (t) => {
  const { signing, keys } = await ring()
  const token = signCompact(signing, 'at+jwt', { sub: 'u' })
  t.equal((await verifyCompact(token, keys, 'at+jwt')).kind, 'verified')
  t.equal((await verifyCompact(token, keys, 'at+jwt')).kind, 'verified', 'again, from the cache')
  keys.published = false
  t.equal((await verifyCompact(token, keys, 'at+jwt')).kind, 'unknown_key', 'the key left the ring: refused at once')
})

t.test('only the exact text is remembered: one signature character changed is checked and refused', async (t) => {
  const { signing, keys } = await ring()
  const token = signCompact(signing, 'at+jwt', { sub: 'u' })
  t.equal((await verifyCompact(token, keys, 'at+jwt')).kind, 'verified')
  const last = token.at(-2) === 'A' ? 'B' : 'A'
  const tampered = `${token.slice(0, -2)}${last}${token.at(-1)!}`
  t.equal((await verifyCompact(tampered, keys, 'at+jwt')).kind, 'bad_signature')
  t.equal((await verifyCompact(token, keys, 'at+jwt')).kind, 'verified')
})

t.test('the remembered result cannot be changed by one caller for the next', async (t) => {
  const { signing, keys } = await ring()
  const token = signCompact(signing, 'at+jwt', { sub: 'u', aud: ['a'] })
  const first = await verifyCompact(token, keys, 'at+jwt')
  if (first.kind !== 'verified') throw new Error('not verified')
  t.throws(() => { (first.payload as { sub: string }).sub = 'someone else' })
  t.throws(() => { (first.payload.aud as string[]).push('b') })
  const second = await verifyCompact(token, keys, 'at+jwt')
  t.equal(second.kind === 'verified' && second.payload.sub, 'u')
})

t.test('the cache is bounded: the oldest entry goes first', async (t) => {
  const cache = new VerifiedTokens(2)
  const entry = { kind: 'verified' as const, header: {}, payload: {} }
  cache.set('a', 'k', entry)
  cache.set('b', 'k', { ...entry, payload: {} })
  cache.set('c', 'k', { ...entry, payload: {} })
  const published = (): boolean => true
  t.equal(cache.get('a', published), undefined)
  t.ok(cache.get('b', published))
  t.ok(cache.get('c', published))
})
