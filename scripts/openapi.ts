import { PGlite } from '@electric-sql/pglite'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { wrapPGlite } from '../src/db/connect.js'
import { migrateToLatest } from '../src/db/migrator.js'

/**
 * The OpenAPI document exactly as the running app serves it at /docs/json, as YAML. Built on a
 * throwaway in-memory database with fixed settings, so the output depends on the code alone.
 */
export async function renderOpenApiYaml (): Promise<string> {
  const pglite = await PGlite.create()
  try {
    const database = wrapPGlite(pglite)
    await migrateToLatest(database.db)
    const config = loadConfig({ NODE_ENV: 'test', KEY_ENCRYPTION_SECRET: 'openapi-generation-only-secret-000000000', MIGRATE_ON_START: 'false' })
    const app = await buildApp({ config, database, logger: false })
    await app.ready()
    const yaml = app.swagger({ yaml: true })
    await app.close()
    return yaml
  } finally {
    await pglite.close()
  }
}
