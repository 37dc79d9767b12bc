import { createHash } from 'node:crypto'
import { PassThrough } from 'node:stream'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { decodeCursor, encodeCursor, FEED_START, type FeedPosition } from '../domain/revocations/cursor.js'
import type { FeedSink } from '../domain/revocations/feed-hub.js'
import { validationFailed } from '../errors.js'
import { epochSeconds } from '../lib/clock.js'
import { sseComment, sseEvent, sseRetry } from '../lib/sse.js'
import { problemResponse } from '../schemas/common.js'

/** Short enough that a cache in front adds at most a second to what a poller sees. */
export const REVOCATIONS_MAX_AGE_SECONDS = 1
const SNAPSHOT_LIMIT = 10_000
const RECONNECT_MS = 1000

const Cursor = Type.String({ maxLength: 64, description: 'An opaque cursor from `cursor` or an event id' })
const Revoked = Type.Object({
  sid: Type.String({ description: 'The revoked session: the `sid` claim of its access tokens' }),
  revokedAt: Type.Integer({ description: 'When it was revoked, in seconds since the epoch' })
}, { additionalProperties: false })

function positionOf (text: string | undefined, what: string): FeedPosition | undefined {
  if (text === undefined || text === '') return undefined
  const position = decodeCursor(text)
  if (position === undefined) throw validationFailed(`${what} is not a cursor of this service`)
  return position
}

function etagMatches (request: FastifyRequest, etag: string): boolean {
  const header = request.headers['if-none-match']
  if (header === undefined) return false
  return header.split(',').some((tag) => tag.trim() === '*' || tag.trim().replace(/^W\//, '') === etag)
}

const revocationRoutes: FastifyPluginAsyncTypebox = async function revocationRoutes (fastify) {
  fastify.get('/revocations', {
    schema: {
      tags: ['revocations'],
      operationId: 'listRevocations',
      security: [],
      summary: 'Sessions revoked within the last access-token lifetime + 60 s, oldest first',
      description: 'Public, like the JWKS: it holds only random session ids, which every access token carries. ' +
        'With `since`, only records after that cursor; pass the returned `cursor` next time. ' +
        'Cacheable for at most a second; supports If-None-Match.',
      querystring: Type.Object({ since: Type.Optional(Cursor) }, { additionalProperties: false }),
      response: {
        200: Type.Object({ revoked: Type.Array(Revoked), cursor: Type.String() }, { additionalProperties: false }),
        304: Type.Unsafe<undefined>({ description: 'Not modified (ETag matched)' }),
        400: problemResponse('validation_failed: a malformed cursor'),
        503: problemResponse('service_unavailable: the database cannot be reached')
      }
    }
  }, async (request, reply) => {
    const since = positionOf(request.query.since, 'since') ?? FEED_START
    const batch = await fastify.revocationFeed.snapshot(since, SNAPSHOT_LIMIT)
    const body = {
      revoked: batch.records.map((record) => ({ sid: record.sessionId, revokedAt: epochSeconds(record.revokedAt) })),
      cursor: encodeCursor(batch.next)
    }
    const etag = `"${createHash('sha256').update(JSON.stringify(body)).digest('base64url').slice(0, 27)}"`
    reply.header('cache-control', `public, max-age=${REVOCATIONS_MAX_AGE_SECONDS}`).header('etag', etag)
    if (etagMatches(request, etag)) return await reply.code(304).send()
    return body
  })

  fastify.get('/revocations/stream', {
    schema: {
      tags: ['revocations'],
      operationId: 'streamRevocations',
      security: [],
      summary: 'Server-Sent Events: one `revoked` event per session revocation, as it happens',
      description: 'Each event is `event: revoked`, `id: <cursor>`, `data: {"sid", "revokedAt"}`. ' +
        'Starts after the cursor in `Last-Event-ID` (or `since`), else from now; ' +
        'a comment line at least every 15 seconds. Behind a proxy, turn response buffering off for this path.',
      querystring: Type.Object({ since: Type.Optional(Cursor) }, { additionalProperties: false }),
      headers: Type.Object({ 'last-event-id': Type.Optional(Cursor) }),
      response: {
        200: {
          description: 'An endless text/event-stream',
          content: { 'text/event-stream': { schema: { type: 'string' } } }
        },
        400: problemResponse('validation_failed: a malformed cursor'),
        503: problemResponse('service_unavailable: the database cannot be reached, or the service is shutting down')
      }
    }
  }, async (request, reply) => {
    const from = positionOf(request.headers['last-event-id'], 'Last-Event-ID') ??
      positionOf(request.query.since, 'since')
    const body = new PassThrough()
    const sink: FeedSink = {
      write: (record) => body.write(sseEvent({
        event: 'revoked',
        id: encodeCursor(record.position),
        data: JSON.stringify({ sid: record.sessionId, revokedAt: epochSeconds(record.revokedAt) })
      })),
      heartbeat: () => body.write(sseComment('heartbeat')),
      backlog: () => body.writableLength,
      end: () => { body.end() }
    }
    // The first bytes flush the headers at once, so the client knows it is connected.
    body.write(sseRetry(RECONNECT_MS) + sseComment('connected'))
    const unsubscribe = await fastify.revocationFeed.subscribe(sink, from)
    reply.raw.on('close', unsubscribe)
    return await reply
      .header('content-type', 'text/event-stream; charset=utf-8')
      .header('cache-control', 'no-store')
      // nginx and compatible proxies: pass events through as they are written.
      .header('x-accel-buffering', 'no')
      .send(body)
  })
}

export default revocationRoutes
