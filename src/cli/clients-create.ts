import { parseArgs } from 'node:util'
import { createServiceClient } from '../domain/clients/clients.js'
import { runWithDatabase } from './context.js'

// `npm run clients:create -- --name billing --scope "invoices:read invoices:write"`: register a
// service client for client_credentials. Prints one JSON object; the secret is shown only here.
const { values } = parseArgs({ options: { name: { type: 'string' }, scope: { type: 'string' } } })
await runWithDatabase('clients:create', async (_config, database) => {
  const { clientId, clientSecret } = await createServiceClient(database.db, { name: values.name, scope: values.scope })
  process.stdout.write(`${JSON.stringify({ client_id: clientId, client_secret: clientSecret })}\n`)
})
