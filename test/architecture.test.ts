import { readdir, readFile } from 'node:fs/promises'
import { join, relative } from 'node:path'
import t from 'tap'

// The layering the README's "Architecture" section promises, checked on the source itself.
const SRC = new URL('../src/', import.meta.url).pathname

async function sourceFiles (dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true })
  const nested = await Promise.all(entries.map(async (entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return await sourceFiles(path)
    return entry.name.endsWith('.ts') ? [path] : []
  }))
  return nested.flat()
}

const importsOf = (text: string): string[] =>
  [...text.matchAll(/^(?:import|export)\s[^'"]*?from\s+'([^']+)'/gm)].map((match) => match[1]!)

t.test('the layers import downwards only', async (t) => {
  const files = await sourceFiles(SRC)
  const offences: string[] = []
  for (const file of files) {
    const path = relative(SRC, file)
    const text = await readFile(file, 'utf8')
    const imports = importsOf(text)
    const layer = path.split('/')[0]
    if (['services', 'domain', 'db'].includes(layer!)) {
      for (const target of imports) {
        if (/^(fastify|@fastify\/|fastify-plugin)/.test(target)) offences.push(`${path} imports ${target}`)
        if (/\/(routes|plugins)\//.test(target)) offences.push(`${path} imports ${target}`)
      }
    }
    if (layer === 'routes') {
      for (const target of imports) {
        if (/\/plugins\//.test(target)) offences.push(`${path} imports ${target}`)
        if (/\/db\//.test(target)) offences.push(`${path} imports ${target}`)
      }
    }
    if (path !== 'config.ts' && /process\.env\b/.test(text)) offences.push(`${path} reads process.env`)
  }
  t.ok(files.length > 50, `read ${files.length} source files`)
  t.same(offences, [], 'no upward import, no Fastify below the routes, process.env only in src/config.ts')
})

t.test('errors are made by the factories of src/errors.ts, never inline', async (t) => {
  const offences: string[] = []
  for (const file of await sourceFiles(SRC)) {
    const path = relative(SRC, file)
    if (path === 'errors.ts') continue
    if ((await readFile(file, 'utf8')).includes('new AppError(')) offences.push(path)
  }
  t.same(offences, [], 'no `new AppError(` outside src/errors.ts')
})
