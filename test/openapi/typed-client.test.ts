import t from 'tap'
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { createRemoteJWKSet, jwtVerify } from 'jose'
import { buildTestApp, STRONG_PASSWORD, TEST_ENV, uniqueEmail } from '../helper.js'

/**
 * What a frontend team does with our document: generate types from openapi.yaml with
 * openapi-typescript (the README's command), compile a call module written against them with
 * openapi-fetch, and run it against the service listening on a real port. The types are
 * generated here, never committed, so they cannot go stale.
 */
const run = promisify(execFile)
const root = fileURLToPath(new URL('../../', import.meta.url))
const bin = (path: string): string => join(root, 'node_modules', path)

// Written against the generated `paths`. The @ts-expect-error lines are calls the document forbids:
// if the types were loose (`any`) those directives would be unused, and tsc would fail.
const CALL_MODULE = `import createClient from 'openapi-fetch'
import type { paths } from './api.js'

export interface Outcome {
  registered: { id: string, email: string }
  accessToken: string
  me: { id: string, email: string, createdAt: string }
  withoutToken: { status: number, code: string | undefined }
}

export async function registerLoginMe (baseUrl: string, email: string, password: string): Promise<Outcome> {
  const client = createClient<paths>({ baseUrl })
  const registered = await client.POST('/auth/register', { body: { email, password } })
  if (registered.data === undefined) throw new Error('register failed: ' + JSON.stringify(registered.error))
  const login = await client.POST('/auth/login', { body: { email, password, delivery: 'body' } })
  if (login.data === undefined) throw new Error('login failed: ' + JSON.stringify(login.error))
  const accessToken: string = login.data.accessToken
  const me = await client.GET('/auth/me', { headers: { authorization: 'Bearer ' + accessToken } })
  if (me.data === undefined) throw new Error('me failed: ' + JSON.stringify(me.error))
  const anonymous = await client.GET('/auth/me')
  const problemCode: string | undefined = anonymous.error?.code
  return {
    registered: registered.data.user,
    accessToken,
    me: me.data.user,
    withoutToken: { status: anonymous.response.status, code: problemCode }
  }
}

export async function callsTheDocumentForbids (baseUrl: string): Promise<void> {
  const client = createClient<paths>({ baseUrl })
  // @ts-expect-error login needs a password
  await client.POST('/auth/login', { body: { email: 'ada@example.com' } })
  // @ts-expect-error delivery is "cookie" or "body"
  await client.POST('/auth/login', { body: { email: 'ada@example.com', password: 'x', delivery: 'header' } })
  // @ts-expect-error no such path
  await client.GET('/auth/who-am-i')
  const me = await client.GET('/auth/me')
  // @ts-expect-error a user has no password field
  void me.data?.user.password
}
`

/** Compiler settings as strict as the repository's own. */
const tsconfig = (file: string): string => JSON.stringify({
  compilerOptions: {
    target: 'ES2023',
    lib: ['ES2023'],
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    types: ['node'],
    strict: true,
    noUncheckedIndexedAccess: true,
    noEmit: true
  },
  files: ['api.d.ts', file]
})

interface Outcome {
  registered: { id: string, email: string }
  accessToken: string
  me: { id: string, email: string, createdAt: string }
  withoutToken: { status: number, code: string | undefined }
}
type CallModule = { registerLoginMe: (baseUrl: string, email: string, password: string) => Promise<Outcome> }

/** tsc's report on one call module: '' when it compiles, never '' when it does not. */
async function typeCheck (dir: string, config: string): Promise<string> {
  return await run(process.execPath, [bin('typescript/bin/tsc'), '-p', join(dir, config)])
    .then(() => '', (error: Error & { stdout?: string }) => `${error.stdout ?? ''}${error.message}`)
}

// A scratch directory outside the repository, with the repository's node_modules linked in, so
// the call module resolves openapi-fetch (and tsc the Node types) as a team's project would.
const dir = await mkdtemp(join(tmpdir(), 'typed-client-'))
t.teardown(async () => { await rm(dir, { recursive: true, force: true }) })
await symlink(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir')
await writeFile(join(dir, 'package.json'), JSON.stringify({ type: 'module' }))
await writeFile(join(dir, 'call.ts'), CALL_MODULE)
await writeFile(join(dir, 'tsconfig.json'), tsconfig('call.ts'))
// The same module with one forbidden call left unmarked: it must not compile.
await writeFile(join(dir, 'misuse.ts'), CALL_MODULE.replace('// @ts-expect-error no such path\n', ''))
await writeFile(join(dir, 'tsconfig.misuse.json'), tsconfig('misuse.ts'))

// The README's command: npx openapi-typescript openapi.yaml -o api.d.ts
const cli = bin('openapi-typescript/bin/cli.js')
await run(process.execPath, [cli, join(root, 'openapi.yaml'), '-o', join(dir, 'api.d.ts')], { cwd: root })

t.test('openapi-typescript generates types from openapi.yaml, named by operationId', async (t) => {
  const types = await readFile(join(dir, 'api.d.ts'), 'utf8')
  t.match(types, /"\/auth\/me": \{/, 'the generated types describe the paths')
  t.match(types, /operations\["register"\]/, 'and name operations by their operationId')
})

t.test('a call module written against the generated types compiles with tsc', async (t) => {
  t.equal(await typeCheck(dir, 'tsconfig.json'), '', 'no type error, and every @ts-expect-error is used')
})

t.test('tsc rejects a call the document forbids (so the compile step can fail)', async (t) => {
  t.match(await typeCheck(dir, 'tsconfig.misuse.json'), /misuse\.ts\(\d+,\d+\): error TS\d+:.*who-am-i/s)
})

t.test('the typed client runs register, login and me against the listening service', async (t) => {
  const app = await buildTestApp(t)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const address = app.server.address()
  if (address === null || typeof address === 'string') throw new Error('not listening on a port')
  const baseUrl = `http://127.0.0.1:${address.port}`

  const { registerLoginMe } = await import(pathToFileURL(join(dir, 'call.ts')).href) as CallModule
  const email = uniqueEmail('typed-client')
  const outcome = await registerLoginMe(baseUrl, email, STRONG_PASSWORD)
  t.equal(outcome.registered.email, email, 'register returned the new user')
  t.same(outcome.me, { ...outcome.registered, createdAt: outcome.me.createdAt }, 'me returned the same user')
  t.match(outcome.me.createdAt, /^\d{4}-\d\d-\d\dT/, 'with its creation time')
  t.same(outcome.withoutToken, { status: 401, code: 'invalid_token' }, 'me without a token: the typed problem+json')

  const jwks = createRemoteJWKSet(new URL(`${baseUrl}/.well-known/jwks.json`))
  const expected = { issuer: TEST_ENV.ISSUER, audience: TEST_ENV.AUDIENCE }
  const { payload } = await jwtVerify(outcome.accessToken, jwks, expected)
  t.equal(payload.sub, outcome.me.id, 'the access token from the typed login is for that user (checked with jose)')
})
