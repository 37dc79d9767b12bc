import t from 'tap'
import { buildApp } from '../src/app.js'
import { postJson, STRONG_PASSWORD, testConfig, uniqueEmail } from './helper.js'

t.test('with no DATABASE_URL, data persists in DATA_DIR across restarts', async (t) => {
  const dataDir = t.testdir()
  const config = testConfig({ DATA_DIR: dataDir, MIGRATE_ON_START: true })
  const email = uniqueEmail()

  const first = await buildApp({ config: { ...config, DATABASE_URL: undefined }, logger: false })
  t.equal((await postJson(first, '/auth/register', { email, password: STRONG_PASSWORD })).statusCode, 201)
  await first.close()

  const second = await buildApp({ config: { ...config, DATABASE_URL: undefined }, logger: false })
  t.teardown(async () => { await second.close() })
  const again = await postJson(second, '/auth/register', { email, password: STRONG_PASSWORD })
  t.equal(again.statusCode, 409, 'the user survived the restart')
})
