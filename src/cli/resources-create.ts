import { registerResource } from '../domain/authorization/resources.js'
import { parseCommandLine, refuse, runWithDatabase } from './context.js'

// `npm run -s resources:create -- --uri https://billing.example.com --scopes "invoices:read" --ttl 300`:
// register a resource server (RFC 8707) that tokens may be minted for, or update the scopes and
// lifetime cap of one already registered. Prints {"resource", "scopes", "ttl"}.
const NAME = 'resources:create'
const values = parseCommandLine(NAME, { uri: { type: 'string' }, scopes: { type: 'string' }, ttl: { type: 'string' } })
const ttl = values.ttl === undefined ? undefined : /^\d{1,9}$/.test(values.ttl) ? Number(values.ttl) : Number.NaN
if (values.uri === undefined) {
  refuse(NAME, 'usage: resources:create --uri <absolute URI> [--scopes "<space-separated>"] [--ttl <seconds>]')
} else {
  const uri = values.uri
  await runWithDatabase(NAME, async (_config, database) => {
    const resource = await registerResource(database.db, { uri, scopes: values.scopes, ttlSeconds: ttl })
    const printed = { resource: resource.uri, scopes: resource.scopes, ttl: resource.ttlSeconds }
    process.stdout.write(`${JSON.stringify(printed)}\n`)
  })
}
