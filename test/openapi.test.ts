import t from 'tap'
import { readFile } from 'node:fs/promises'
import SwaggerParser from '@apidevtools/swagger-parser'
import { parse } from 'yaml'
import { renderOpenApiYaml } from '../scripts/openapi.js'
import { buildTestApp } from './helper.js'

t.test('the committed openapi.yaml is what the app generates (run `npm run openapi` after changing a route)', async (t) => {
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
