import { createServer } from 'node:net'

/** A TCP port free on `host` a moment ago, for a server the test starts in another process. */
export async function freePort (host = '127.0.0.1'): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, host, () => {
      const address = server.address()
      server.close(() => {
        typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))
      })
    })
  })
}
