// Starts the example consumer: ISSUER, AUDIENCE and JWKS_BASE_URL name the token service.
import { buildConsumer } from './index.js'

const { ISSUER, AUDIENCE, JWKS_BASE_URL, PORT = '3001', HOST = '0.0.0.0' } = process.env
const missing = Object.entries({ ISSUER, AUDIENCE, JWKS_BASE_URL }).filter(([, value]) => !value).map(([name]) => name)
if (missing.length > 0) {
  process.stderr.write(`Missing environment variables: ${missing.join(', ')}\n`)
  process.exit(1)
}

const app = await buildConsumer({ issuer: ISSUER, audience: AUDIENCE, jwksBaseUrl: JWKS_BASE_URL, logger: true })
await app.listen({ port: Number(PORT), host: HOST })
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => { app.close().then(() => process.exit(0)) })
