import t from 'tap'
import type { FastifyError } from 'fastify'
import { invalidToken } from '../../src/errors.js'
import { sseEvent } from '../../src/lib/sse.js'
import { toAppError } from '../../src/plugins/errors.js'

// What the error handler answers for each kind of failure, as the client sees its code and status.
const fastifyError = (fields: Partial<FastifyError>): FastifyError =>
  Object.assign(new Error('raw framework message'), fields) as FastifyError

t.test('every failure a request can meet becomes a documented code, or a bare 500', async (t) => {
  const cases: Array<[string, Error, string | undefined, number | undefined]> = [
    ['an AppError stays itself', invalidToken('nope'), 'invalid_token', 401],
    ['a schema violation', fastifyError({
      validation: [{ instancePath: '/email', message: 'must match format "email"' }] as FastifyError['validation'],
      validationContext: 'body'
    }), 'validation_failed', 400],
    ['a schema violation without details', fastifyError({ validation: [] as unknown as FastifyError['validation'] }),
      'validation_failed', 400],
    ['a body over the limit', fastifyError({ code: 'FST_ERR_CTP_BODY_TOO_LARGE' }), 'payload_too_large', 413],
    ['another media type', fastifyError({ code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE' }), 'unsupported_media_type', 415],
    ['an empty JSON body', fastifyError({ code: 'FST_ERR_CTP_EMPTY_JSON_BODY' }), 'validation_failed', 400],
    ['a wrong Content-Length', fastifyError({ code: 'FST_ERR_CTP_INVALID_CONTENT_LENGTH' }), 'validation_failed', 400],
    ['text PostgreSQL cannot store', fastifyError({ code: '22021' }), 'validation_failed', 400],
    ['an unpaired surrogate', fastifyError({ code: '22P05' }), 'validation_failed', 400],
    ['a 404 from a plugin', fastifyError({ statusCode: 404 }), 'not_found', 404],
    ['another client error from a plugin', fastifyError({ statusCode: 418 }), 'validation_failed', 400],
    ['anything else', new Error('boom'), undefined, undefined],
    ['a server-side status', fastifyError({ statusCode: 502 }), undefined, undefined]
  ]
  for (const [what, error, code, status] of cases) {
    const translated = toAppError(error)
    t.equal(translated?.code, code, `${what}: ${code ?? 'unexpected (500)'}`)
    t.equal(translated?.statusCode, status, `${what}: status`)
    if (translated !== undefined) t.notMatch(translated.message, /raw framework message/, `${what}: our own words`)
  }
  const detail = toAppError(cases[1]![1])!.message
  t.equal(detail, 'body/email must match format "email"', 'a schema violation names the field')
})

t.test('an SSE field that is not a single line is refused, not written', async (t) => {
  t.throws(() => sseEvent({ event: 'revoked', id: '1', data: 'a\nb' }), /single lines/)
  t.throws(() => sseEvent({ event: 'revoked\r', id: '1', data: '{}' }), /single lines/)
  t.throws(() => sseEvent({ event: 'revoked', id: '1\n', data: '{}' }), /single lines/)
  t.equal(sseEvent({ event: 'revoked', id: '1', data: '{}' }), 'event: revoked\nid: 1\ndata: {}\n\n')
})
