import t from 'tap'
import { createLocalJWKSet, decodeJwt, jwtVerify, type JSONWebKeySet } from 'jose'
import { changeRoles, MAX_ROLES_PER_USER } from '../../src/domain/authorization/roles.js'
import { buildTestApp, postJson } from '../helper.js'
import { postForm } from '../oauth/oauth-helpers.js'
import { loginForTokens, registerUser } from '../support/auth-steps.js'

t.test('roles in user access tokens', async (t) => {
  // A grace window, so that the grace path's token is checked too.
  const app = await buildTestApp(t, { REFRESH_REUSE_GRACE_SECONDS: 30 })
  const jwksDocument = (await app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json() as JSONWebKeySet
  const jwks = createLocalJWKSet(jwksDocument)
  const rolesOf = async (token: string): Promise<unknown> =>
    (await jwtVerify(token, jwks, { issuer: 'http://issuer.test', audience: 'http://api.test', typ: 'at+jwt' }))
      .payload.roles

  t.test('a user without roles gets an empty array', async (t) => {
    const tokens = await loginForTokens(app, await registerUser(app))
    t.same(await rolesOf(tokens.accessToken), [])
  })

  t.test('added roles are sorted in the next login token and each refresh token', async (t) => {
    const user = await registerUser(app)
    const result = await changeRoles(app.db, user.email, {
      add: ['support', 'admin', 'billing:read', 'billing.write', 'a-b_c'], remove: []
    })
    t.same(result, { email: user.email, roles: ['a-b_c', 'admin', 'billing.write', 'billing:read', 'support'] },
      'sorted by code point, whatever the database collation')
    const tokens = await loginForTokens(app, user)
    t.same(await rolesOf(tokens.accessToken), result.roles, 'the login token carries them')
    const refreshed = await postJson(app, '/auth/refresh', { refreshToken: tokens.refreshToken })
    t.same(await rolesOf(refreshed.json().accessToken), result.roles, '/auth/refresh carries them')
    const grace = await postJson(app, '/auth/refresh', { refreshToken: tokens.refreshToken })
    t.equal(grace.statusCode, 200, 'the token just spent, inside the grace window')
    t.same(await rolesOf(grace.json().accessToken), result.roles, 'the grace answer carries them too')
  })

  t.test('a removal reaches the token at the next refresh, on both refresh endpoints', async (t) => {
    const user = await registerUser(app)
    await changeRoles(app.db, user.email, { add: ['admin', 'viewer'], remove: [] })
    const tokens = await loginForTokens(app, user)
    t.same(await rolesOf(tokens.accessToken), ['admin', 'viewer'])
    t.same((await changeRoles(app.db, user.email, { add: [], remove: ['admin'] })).roles, ['viewer'])
    t.same(decodeJwt(tokens.accessToken).roles, ['admin', 'viewer'],
      'an issued token keeps what it says until it expires')
    const refreshed = await postJson(app, '/auth/refresh', { refreshToken: tokens.refreshToken })
    t.same(await rolesOf(refreshed.json().accessToken), ['viewer'], 'the next refresh reads the roles anew')
    await changeRoles(app.db, user.email, { add: ['editor'], remove: ['viewer'] })
    const oauth = await postForm(app, '/oauth/token', {
      grant_type: 'refresh_token', refresh_token: refreshed.json().refreshToken
    })
    t.equal(oauth.statusCode, 200, oauth.body)
    t.same(await rolesOf(oauth.json().access_token), ['editor'], '/oauth/token reads them anew as well')
  })

  t.test('adding a role held already, or removing one not held, is not an error', async (t) => {
    const user = await registerUser(app)
    await changeRoles(app.db, user.email, { add: ['admin'], remove: [] })
    t.same(await changeRoles(app.db, user.email, { add: ['admin'], remove: ['ghost'] }),
      { email: user.email, roles: ['admin'] })
    t.same(await changeRoles(app.db, ` ${user.email.toUpperCase()} `, { add: [], remove: [] }),
      { email: user.email, roles: ['admin'] }, 'no flags prints the roles; the email is normalised as at login')
  })

  t.test('refused changes: one line, and nothing changes', async (t) => {
    const user = await registerUser(app)
    await changeRoles(app.db, user.email, { add: ['keep'], remove: [] })
    const refused = [
      [{ add: ['Admin'], remove: [] }, /invalid role "Admin"/],
      [{ add: ['ok', '1st'], remove: [] }, /invalid role "1st"/],
      [{ add: ['has space'], remove: [] }, /invalid role/],
      [{ add: ['a'.repeat(65)], remove: [] }, /invalid role/],
      [{ add: [''], remove: [] }, /invalid role/],
      [{ add: ['x'], remove: ['x'] }, /both added and removed/],
      [{ add: [], remove: ['BAD'] }, /invalid role/]
    ] as const
    for (const [change, message] of refused) {
      await t.rejects(changeRoles(app.db, user.email, change), { name: 'OperatorError', message },
        JSON.stringify(change))
    }
    await t.rejects(changeRoles(app.db, 'nobody-here@example.com', { add: ['admin'], remove: [] }),
      { name: 'OperatorError', message: /no user with email nobody-here@example.com/ })
    await t.rejects(changeRoles(app.db, 'not an email', { add: [], remove: [] }),
      { name: 'OperatorError', message: /invalid email/ })
    t.same((await changeRoles(app.db, user.email, { add: [], remove: [] })).roles, ['keep'],
      'the roles are as they were')
    const longest = `a${'b'.repeat(63)}`
    t.ok((await changeRoles(app.db, user.email, { add: [longest], remove: [] })).roles.includes(longest),
      'a role of 64 characters is accepted')
  })

  t.test(`at most ${MAX_ROLES_PER_USER} roles per user`, async (t) => {
    const user = await registerUser(app)
    const many = Array.from({ length: MAX_ROLES_PER_USER }, (_, i) => `role-${String(i).padStart(2, '0')}`)
    t.equal((await changeRoles(app.db, user.email, { add: many, remove: [] })).roles.length, MAX_ROLES_PER_USER)
    await t.rejects(changeRoles(app.db, user.email, { add: ['one-more'], remove: [] }),
      { name: 'OperatorError', message: /at most 64/ })
    const swapped = await changeRoles(app.db, user.email, { add: ['one-more'], remove: ['role-00'] })
    t.equal(swapped.roles.length, MAX_ROLES_PER_USER,
      'a swap within the cap is fine')
    const tokens = await loginForTokens(app, user)
    t.equal((await rolesOf(tokens.accessToken) as string[]).length, MAX_ROLES_PER_USER, 'all of them reach the token')
  })

  t.test('roles go with their user: a deleted user leaves none behind', async (t) => {
    const user = await registerUser(app)
    await changeRoles(app.db, user.email, { add: ['admin'], remove: [] })
    await app.db.deleteFrom('users').where('id', '=', user.id).execute()
    const left = await app.db.selectFrom('user_roles').select('role').where('user_id', '=', user.id).execute()
    t.same(left, [])
  })
})
