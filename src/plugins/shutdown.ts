import fp from 'fastify-plugin'
import { serviceUnavailable } from '../errors.js'

/**
 * Graceful shutdown, as a load balancer wants it: once close() starts, new requests get a
 * problem+json 503, and every response still in flight says `Connection: close`, so keep-alive
 * clients let go at once instead of holding the process open until their idle timeout.
 */
export default fp(async function shutdownPlugin (fastify) {
  let closing = false
  fastify.addHook('preClose', async () => { closing = true })
  fastify.addHook('onRequest', async () => {
    if (closing) throw serviceUnavailable('The service is shutting down; retry on another instance')
  })
  fastify.addHook('onSend', async (_request, reply) => {
    if (closing) reply.header('connection', 'close')
  })
}, { name: 'shutdown', dependencies: ['errors'], fastify: '5.x' })
