import t from 'tap'
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { parse, stringify } from 'yaml'

/** `npm run lint:openapi` (Redocly CLI, redocly.yaml): the committed document passes, and the gate can fail. */
const run = promisify(execFile)
const root = fileURLToPath(new URL('../../', import.meta.url))

async function lint (file?: string): Promise<{ code: number, output: string }> {
  const args = ['--import', 'tsx', join(root, 'scripts/lint-openapi.ts'), ...(file === undefined ? [] : [file])]
  return await run(process.execPath, args, { cwd: root }).then(
    ({ stdout }) => ({ code: 0, output: stdout }),
    (error: Error & { code?: number, stdout?: string }) =>
      ({ code: error.code ?? -1, output: `${error.stdout ?? ''}${error.message}` })
  )
}

const dir = await mkdtemp(join(tmpdir(), 'openapi-lint-'))
t.teardown(async () => { await rm(dir, { recursive: true, force: true }) })
const committed = await readFile(join(root, 'openapi.yaml'), 'utf8')

/** A copy of openapi.yaml changed by `edit`, written to the scratch directory. */
async function variant (name: string, edit: (document: any) => void): Promise<string> {
  const document = parse(committed)
  edit(document)
  const file = join(dir, name)
  await writeFile(file, stringify(document))
  return file
}

t.test('the committed openapi.yaml: no error, no warning, nothing ignored', async (t) => {
  const { code, output } = await lint()
  t.equal(code, 0, output)
  t.match(output, /openapi\.yaml: 0 errors, 0 warnings, 0 ignored/)
})

t.test('a warning fails the lint (a missing operationId)', async (t) => {
  const file = await variant('no-operation-id.yaml', (document) => {
    delete document.paths['/auth/login'].post.operationId
  })
  const { code, output } = await lint(file)
  t.equal(code, 1)
  t.match(output, /warn operation-operationId #\/paths\/~1auth~1login\/post/)
})

t.test('a public operation without an explicit security: [] fails', async (t) => {
  const file = await variant('no-security.yaml', (document) => { delete document.paths['/health/live'].get.security })
  const { code, output } = await lint(file)
  t.equal(code, 1)
  t.match(output, /error security-defined #\/paths\/~1health~1live\/get/)
})

t.test('an operation that takes input must document a 4xx; one that takes none need not', async (t) => {
  const file = await variant('no-4xx.yaml', (document) => {
    const operations: Array<[string, string]> = [
      ['/auth/me', 'get'], ['/revocations', 'get'], ['/auth/register', 'post']
    ]
    for (const [path, method] of operations) {
      const responses = document.paths[path][method].responses
      for (const status of Object.keys(responses)) if (status.startsWith('4')) delete responses[status]
    }
  })
  const { code, output } = await lint(file)
  t.equal(code, 1)
  const flagged = [...output.matchAll(/error token-service\/operation-4xx-response-when-input (\S+):/g)]
    .map((match) => match[1]).sort()
  t.same(flagged, [
    '#/paths/~1auth~1me/get/responses', // credentials
    '#/paths/~1auth~1register/post/responses', // a body
    '#/paths/~1revocations/get/responses' // a parameter
  ])
  t.notMatch(output, /health|jwks|metrics/, 'the inputless GETs are not asked for a 4xx')
})
