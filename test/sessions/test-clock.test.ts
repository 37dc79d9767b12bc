import t from 'tap'
import { assertProblem, buildTestApp } from '../helper.js'
import { createTestClock } from '../support/test-clock.js'
import { loginForTokens, me, refreshWithBody, registerUser, tokensOf } from '../support/auth-steps.js'

// The clock given to buildApp reaches every rule, the ones judged in SQL included.
t.test('the app\'s clock decides grace, idle and absolute expiry, and access-token lifetime', async (t) => {
  const clock = createTestClock()
  const settings = {
    REFRESH_REUSE_GRACE_SECONDS: 10, SESSION_IDLE_TTL: 3600, REFRESH_TOKEN_TTL: 7200, ACCESS_TOKEN_TTL: 600
  }
  const app = await buildTestApp(t, settings, { clock })
  const user = await registerUser(app)

  t.test('a replay 9 s after the rotation is grace; 11 s after, it is reuse', async (t) => {
    const first = await loginForTokens(app, user)
    const second = tokensOf(await refreshWithBody(app, first.refreshToken), 'rotate')
    clock.advance(9)
    t.equal((await refreshWithBody(app, first.refreshToken)).json().refreshToken, second.refreshToken, 'grace')
    clock.advance(2)
    assertProblem(t, await refreshWithBody(app, first.refreshToken), 401, 'refresh_token_reused')
  })

  t.test('a session unused for SESSION_IDLE_TTL has ended; one used just before has not', async (t) => {
    const first = await loginForTokens(app, user)
    clock.advance(3599)
    const second = tokensOf(await refreshWithBody(app, first.refreshToken), 'rotate before idle')
    clock.advance(3600)
    assertProblem(t, await refreshWithBody(app, second.refreshToken), 401, 'session_expired')
  })

  t.test('rotation never carries a session past REFRESH_TOKEN_TTL', async (t) => {
    let tokens = await loginForTokens(app, user)
    for (let hour = 0; hour < 2; hour++) {
      clock.advance(3000)
      tokens = tokensOf(await refreshWithBody(app, tokens.refreshToken), `rotate ${hour}`)
    }
    clock.advance(1300)
    assertProblem(t, await refreshWithBody(app, tokens.refreshToken), 401, 'session_expired')
  })

  t.test('an access token works until ACCESS_TOKEN_TTL has passed on the app\'s clock', async (t) => {
    const { accessToken } = await loginForTokens(app, user)
    clock.advance(590)
    t.equal((await me(app, accessToken)).statusCode, 200)
    clock.advance(11 + 60)
    assertProblem(t, await me(app, accessToken), 401, 'invalid_token')
  })
})
