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
  // Callback hooks: no promise per request while the service runs.
  fastify.addHook('onRequest', (_request, _reply, done) => {
    if (closing) done(serviceUnavailable('The service is shutting down; retry on another instance')); else done()
  })
  fastify.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) reply.header('connection', 'close')
    done(null, payload)
  })
}, { name: 'shutdown', dependencies: ['errors'], fastify: '5.x' })
