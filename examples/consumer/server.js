// Starts the example consumer: ISSUER and AUDIENCE name the token service (ISSUER is where it is reached).
import { buildConsumer } from './index.js'

const { ISSUER, AUDIENCE, PORT = '3001', HOST = '0.0.0.0' } = process.env
const missing = Object.entries({ ISSUER, AUDIENCE }).filter(([, value]) => !value).map(([name]) => name)
if (missing.length > 0) {
  process.stderr.write(`Missing environment variables: ${missing.join(', ')}\n`)
  process.exit(1)
}

const app = await buildConsumer({ issuer: ISSUER, audience: AUDIENCE, logger: true })
await app.listen({ port: Number(PORT), host: HOST })
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => { app.close().then(() => process.exit(0)) })
