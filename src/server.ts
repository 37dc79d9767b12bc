import { buildApp } from './app.js'
import { loadConfigOrExit } from './bootstrap.js'

const SHUTDOWN_DEADLINE_MS = 9_000

async function main (): Promise<void> {
  const config = loadConfigOrExit('token-service')

  const app = await buildApp({ config })
  await app.listen({ port: config.PORT, host: config.HOST })

  let closing = false
  const shutdown = (signal: string): void => {
    if (closing) return
    closing = true
    app.log.info({ signal }, 'shutting down: no new connections, finishing in-flight requests')
    // The service promises an exit within 10 seconds even if something hangs.
    setTimeout(() => {
      app.log.error('shutdown deadline passed; exiting')
      process.exit(1)
    }, SHUTDOWN_DEADLINE_MS).unref()
    app.close().then(() => process.exit(0), (error: unknown) => {
      app.log.error({ err: error }, 'error while shutting down')
      process.exit(1)
    })
  }
  process.once('SIGTERM', shutdown)
  process.once('SIGINT', shutdown)
}

await main()
