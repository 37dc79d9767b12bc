import t from 'tap'
import { readFile } from 'node:fs/promises'
import SwaggerParser from '@apidevtools/swagger-parser'
import { parse } from 'yaml'
import { renderOpenApiYaml } from '../scripts/openapi.js'
import { buildTestApp } from './helper.js'

t.test('the committed openapi.yaml is what the app generates ' +
  '(run `npm run openapi` after changing a route)', async (t) => {
  const committed = await readFile(new URL('../openapi.yaml', import.meta.url), 'utf8')
  t.equal(committed, await renderOpenApiYaml())
})

t.test('openapi.yaml is a valid OpenAPI 3.1 document', async (t) => {
  const document = parse(await readFile(new URL('../openapi.yaml', import.meta.url), 'utf8'))
  t.equal(document.openapi, '3.1.0')
  await t.resolves(SwaggerParser.validate(document))
})

t.test('/docs serves Swagger UI and /docs/json the same API as openapi.yaml', async (t) => {
  const app = await buildTestApp(t)
  const ui = await app.inject('/docs/')
  t.equal(ui.statusCode, 200)
  t.match(ui.body, /swagger-ui/i)
  const served = (await app.inject('/docs/json')).json()
  const committed = parse(await readFile(new URL('../openapi.yaml', import.meta.url), 'utf8'))
  t.same(Object.keys(served.paths).sort(), Object.keys(committed.paths).sort())
  t.ok(served.paths['/auth/register']?.post, 'register is documented')
})

t.test('every operation has a unique operationId; public ones say security: [] explicitly', async (t) => {
  const document = parse(await readFile(new URL('../openapi.yaml', import.meta.url), 'utf8'))
  const ids: string[] = []
  const paths = Object.entries<Record<string, { operationId?: string, security?: unknown[] }>>(document.paths)
  for (const [path, item] of paths) {
    for (const [method, operation] of Object.entries(item)) {
      t.match(operation.operationId, /^[a-z][A-Za-z]+$/, `${method} ${path} has a camelCase operationId`)
      t.ok(Array.isArray(operation.security), `${method} ${path} declares its security`)
      ids.push(String(operation.operationId))
    }
  }
  t.equal(new Set(ids).size, ids.length, 'no operationId is used twice')
  t.same(document.paths['/auth/login'].post.security, [], 'login is public')
  t.same(document.paths['/auth/me'].get.security, [{ bearerAuth: [] }], 'me needs an access token')
})

t.test('servers: the development default in openapi.yaml, the configured issuer in /docs/json', async (t) => {
  const committed = parse(await readFile(new URL('../openapi.yaml', import.meta.url), 'utf8'))
  t.equal(committed.servers.length, 1)
  t.equal(committed.servers[0].url, 'http://localhost:3000')
  t.match(committed.servers[0].description, /development default/i)
  const app = await buildTestApp(t, { ISSUER: 'https://auth.example.org/' })
  const served = (await app.inject('/docs/json')).json()
  t.same(served.servers, [{ url: 'https://auth.example.org', description: 'This deployment (its configured ISSUER)' }])
})
