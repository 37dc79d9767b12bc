import t from 'tap'
import { buildApp } from '../../src/app.js'
import { testConfig } from '../helper.js'
import { command, freshTarget, lines } from '../support/commands.js'
import { registerUser } from '../support/auth-steps.js'

/**
 * users:roles and resources:create as real processes on a fresh database: one JSON line on success,
 * one line on stderr and a non-zero exit for a refusal, and nothing changed by a refusal. The rules
 * themselves are tested in-process (test/authorization); this shows the commands' outside. An app
 * opens the database only between commands: an embedded PGlite directory has one process at a time.
 */
t.test('users:roles and resources:create', async (t) => {
  const target = await freshTarget(t)
  const secret = 'a-test-secret-of-at-least-32-characters!!'
  const env = { ...target.env, KEY_ENCRYPTION_SECRET: secret }
  const withApp = async <T>(use: (app: Awaited<ReturnType<typeof buildApp>>) => Promise<T>): Promise<T> => {
    const config = testConfig({ ...target.config, MIGRATE_ON_START: true, KEY_ENCRYPTION_SECRET: secret })
    const app = await buildApp({ config, logger: false })
    try {
      await app.ready()
      return await use(app)
    } finally {
      await app.close()
    }
  }
  const user = await withApp(async (app) => await registerUser(app))

  t.test('users:roles adds, removes and prints the roles sorted', async (t) => {
    const args = [
      '--email', user.email, '--add', 'support', '--add', 'admin', '--remove', 'none-such', '--add', 'billing:read'
    ]
    const result = await command('users-roles.ts', args, env)
    t.equal(result.code, 0, result.stderr)
    t.same(
      lines(result.stdout).map((line) => JSON.parse(line)),
      [{ email: user.email, roles: ['admin', 'billing:read', 'support'] }]
    )
  })

  t.test('users:roles refuses an unknown email and an invalid role with one line, changing nothing', async (t) => {
    for (const [args, message] of [
      [['--email', 'nobody@example.com', '--add', 'admin'], /^users:roles: no user with email nobody@example.com$/],
      [['--email', user.email, '--add', 'ok', '--add', 'Admin'], /^users:roles: invalid role "Admin"/]
    ] as const) {
      const result = await command('users-roles.ts', [...args], env)
      t.equal(result.code, 1, `${args.join(' ')}: exit code 1`)
      t.equal(result.stdout, '', 'nothing on stdout')
      t.equal(lines(result.stderr).length, 1, `one line: ${result.stderr}`)
      t.match(result.stderr.trim(), message)
    }
    const roles = await withApp(async (app) =>
      (await app.db.selectFrom('user_roles').select('role').where('user_id', '=', user.id).orderBy('role').execute())
        .map((r) => r.role))
    t.same(roles, ['admin', 'billing:read', 'support'], '"ok" was not added by the refused change')
  })

  t.test('resources:create registers (an update on the same URI), and refuses a relative URI', async (t) => {
    const created = await command(
      'resources-create.ts',
      ['--uri', 'https://billing.example.com', '--scopes', 'invoices:read invoices:write', '--ttl', '300'],
      env
    )
    t.equal(created.code, 0, created.stderr)
    t.same(
      JSON.parse(created.stdout),
      { resource: 'https://billing.example.com', scopes: ['invoices:read', 'invoices:write'], ttl: 300 }
    )
    const refused = await command('resources-create.ts', ['--uri', '/relative', '--ttl', '60'], env)
    t.equal(refused.code, 1, 'exit code 1')
    t.equal(refused.stdout, '')
    t.match(refused.stderr, /^resources:create: uri must be an absolute URI\n$/, 'one line')
    const rows = await withApp(async (app) => await app.db.selectFrom('resource_servers').selectAll().execute())
    t.match(rows, [{ uri: 'https://billing.example.com', scope: 'invoices:read invoices:write', ttl_seconds: 300 }])
    t.equal(rows.length, 1, 'the refused registration stored nothing')
  })
})
