// Builds packages/client when its dist is missing or older than its sources, so that the tests that
// load the built module (in Node and in Chromium) work from a fresh clone after `npm ci`.
// tap runs it once before the test files (package.json › tap.before).
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../packages/client/', import.meta.url))
const built = `${root}dist/index.js`
const newestSource = Math.max(
  statSync(`${root}tsconfig.json`).mtimeMs,
  ...readdirSync(`${root}src`).map((file) => statSync(`${root}src/${file}`).mtimeMs)
)
if (!existsSync(built) || statSync(built).mtimeMs < newestSource) {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
  execFileSync(process.execPath, [tsc, '-p', `${root}tsconfig.json`], { stdio: 'inherit' })
}
