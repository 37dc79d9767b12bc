import { sql } from 'kysely'
import { Type } from 'typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { serviceUnavailable } from '../errors.js'
import { problemResponse } from '../schemas/common.js'

const Status = Type.Object({ status: Type.String() })

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
      response: { 200: Status, 503: problemResponse('The database does not answer') }
    }
  }, async () => {
    try {
      await sql`select 1`.execute(fastify.db)
    } catch (error) {
      throw serviceUnavailable('The database does not answer', error)
    }
    return { status: 'ok' }
  })
}

export default healthRoutes
