// Minimum versions of dependencies with security fixes this service relies on. Checked against
// what is actually installed (node_modules), offline.
import { readFileSync, existsSync } from 'node:fs'

const FLOORS = {
  '@fastify/rate-limit': '11.2.0', // IPv6 clients grouped by /64 (one host cannot rotate addresses)
  'fast-jwt': '6.3.1', // under @fastify/jwt (tests, consumer example): algorithm-confusion fixes
  fastify: '5.3.2', // content-type parsing fixes
  jose: '6.0.0',
  pg: '8.11.0'
}

const parse = (version) => version.split('-')[0].split('.').map(Number)
const atLeast = (actual, floor) => {
  const [a, b] = [parse(actual), parse(floor)]
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] > b[i]
  return true
}

let failed = false
for (const [name, floor] of Object.entries(FLOORS)) {
  const path = `node_modules/${name}/package.json`
  if (!existsSync(path)) continue
  const { version } = JSON.parse(readFileSync(path, 'utf8'))
  if (!atLeast(version, floor)) {
    process.stderr.write(`${name} ${version} is below the security floor ${floor}\n`)
    failed = true
  }
}
if (failed) process.exit(1)
process.stdout.write(`dependency floors: ok (${Object.keys(FLOORS).join(', ')})\n`)
