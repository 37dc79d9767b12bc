import t from 'tap'
import { assertProblem, buildTestApp, openTestDatabase, STRONG_PASSWORD, uniqueEmail } from '../helper.js'
import { assertOAuthError } from '../oauth/oauth-helpers.js'

/** A body that is not valid UTF-8 is refused (400), never decoded with U+FFFD and stored. */
// stray, truncated, surrogate
const INVALID_BYTES = [Buffer.from([0xff]), Buffer.from([0xc3]), Buffer.from([0xed, 0xa0, 0x80])]

t.test('bodies that are not valid UTF-8', async (t) => {
  const database = await openTestDatabase(t)
  const app = await buildTestApp(t, {}, { database })

  t.test('POST /auth/register with invalid UTF-8 in the email → 400, no user written', async (t) => {
    for (const bytes of INVALID_BYTES) {
      const email = uniqueEmail('utf8')
      const [local, domain] = email.split('@')
      const payload = Buffer.concat([
        Buffer.from(`{"email":"${local}`),
        bytes,
        Buffer.from(`@${domain}","password":"${STRONG_PASSWORD}"}`)
      ])
      const response = await app.inject({
        method: 'POST', url: '/auth/register', payload, headers: { 'content-type': 'application/json' }
      })
      assertProblem(t, response, 400, 'validation_failed')
      const rows = await database.db.selectFrom('users').select('email').where('email', 'like', `${local}%`).execute()
      t.same(rows, [], `no user was created for ${bytes.toString('hex')}`)
    }
  })

  t.test('valid multi-byte UTF-8 still works', async (t) => {
    const body = JSON.stringify({ email: uniqueEmail('ok'), password: `pässwörd ✓ ${STRONG_PASSWORD}` })
    const payload = Buffer.from(body, 'utf8')
    const response = await app.inject({
      method: 'POST', url: '/auth/register', payload, headers: { 'content-type': 'application/json; charset=utf-8' }
    })
    t.equal(response.statusCode, 201)
  })

  t.test('/oauth/token: invalid UTF-8 in a JSON or form body, raw or percent-encoded ' +
    '→ 400 invalid_request', async (t) => {
    const bodies = [
      {
        type: 'application/json',
        payload: Buffer.concat([
          Buffer.from('{"grant_type":"refresh_token","refresh_token":"'), Buffer.from([0xff]), Buffer.from('"}')
        ])
      },
      {
        type: 'application/x-www-form-urlencoded',
        payload: Buffer.concat([Buffer.from('grant_type=refresh_token&refresh_token=a'), Buffer.from([0xff])])
      },
      {
        type: 'application/x-www-form-urlencoded',
        payload: Buffer.from('grant_type=refresh_token&refresh_token=a%FF')
      },
      {
        type: 'application/x-www-form-urlencoded',
        payload: Buffer.from('grant_type=refresh_token&refresh_token=%C3')
      }
    ]
    for (const { type, payload } of bodies) {
      const response = await app.inject({
        method: 'POST', url: '/oauth/token', payload, headers: { 'content-type': type }
      })
      assertOAuthError(t, response, 400, 'invalid_request')
    }
  })

  t.test('forms that are valid UTF-8 parse as before', async (t) => {
    const response = await app.inject({
      method: 'POST',
      url: '/oauth/token',
      payload: 'grant_type=refresh_token&refresh_token=%C3%A9+x',
      headers: { 'content-type': 'application/x-www-form-urlencoded' }
    })
    assertOAuthError(t, response, 400, 'invalid_grant')
  })
})
