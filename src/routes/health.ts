import { Type } from 'typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { problemResponse } from '../schemas/common.js'

const Status = Type.Object({ status: Type.String() })
const ReadyStatus = Type.Object({
  status: Type.String(),
  rateLimitStore: Type.Union([
    Type.Literal('redis'), Type.Literal('memory'), Type.Literal('memory-fallback'), Type.Literal('disabled')
  ], {
    description: 'Where per-IP rate-limit counters live: `redis` (shared), `memory` (no REDIS_URL), ' +
      '`memory-fallback` (REDIS_URL set but Redis unreachable: counted per instance; still ready), `disabled`'
  })
})

/** Liveness (the process runs) and readiness (the database answers). */
const healthRoutes: FastifyPluginAsyncTypebox = async function healthRoutes (fastify) {
  fastify.get('/health/live', {
    schema: {
      tags: ['operations'],
      operationId: 'healthLive',
      security: [],
      summary: 'Liveness: 200 while the process runs',
      response: { 200: Status }
    }
  }, async () => ({ status: 'ok' }))

  fastify.get('/health/ready', {
    schema: {
      tags: ['operations'],
      operationId: 'healthReady',
      security: [],
      summary: 'Readiness: 200 when the database answers, 503 otherwise',
      description: 'A Redis outage does not make the instance unready: rate limits fall back to in-process counters.',
      response: { 200: ReadyStatus, 503: problemResponse('The database does not answer') }
    }
  }, async () => {
    await fastify.services.checkDatabase()
    return { status: 'ok', rateLimitStore: fastify.rateLimitStore.mode() }
  })
}

export default healthRoutes
