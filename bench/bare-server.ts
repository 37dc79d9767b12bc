import Fastify from 'fastify'

/**
 * The floor for the cheap routes: a bare Fastify route with the same logger level, answering a
 * small JSON body, in its own process like the service.
 */
const app = Fastify({ logger: false })
app.get('/', async () => ({ ok: true }))
const address = await app.listen({ port: 0, host: '127.0.0.1' })
process.stdout.write(`listening ${address}\n`)
process.once('SIGTERM', () => { app.close().then(() => process.exit(0), () => process.exit(1)) })
