import type { FastifyInstance, FastifyRequest } from 'fastify'
import { validationFailed, type AppError } from '../errors.js'
import { BODY_LIMIT_BYTES } from '../limits.js'

/**
 * Body parsers that refuse bytes which are not UTF-8. The stock parsers decode with replacement
 * characters, so `caf\xff@example.com` would be stored as `caf\uFFFD@example.com`: a different
 * identity from what the client sent, and one no client can type again.
 */
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

const notUtf8 = (): AppError => validationFailed('The request body is not valid UTF-8')

export function decodeUtf8Strict (body: Buffer): string {
  try {
    return utf8.decode(body)
  } catch {
    throw notUtf8()
  }
}

/** application/json: strict decoding, then Fastify's own parser (prototype poisoning refused). */
export function registerStrictJsonParser (app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error')
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request: FastifyRequest, body: Buffer, done) => {
    let text: string
    try {
      text = decodeUtf8Strict(body)
    } catch (error) {
      done(error as Error, undefined)
      return
    }
    parseJson(request, text, done)
  })
}

/**
 * application/x-www-form-urlencoded (RFC 6749's request format): strict decoding of the bytes and
 * of every percent-escape (`%FF` is not UTF-8 either). Repeated parameters become arrays, which the
 * route schemas (strings only) then refuse.
 */
export function parseFormStrict (body: Buffer): Record<string, string | string[]> {
  const params: Record<string, string | string[]> = Object.create(null)
  for (const pair of decodeUtf8Strict(body).split('&')) {
    if (pair === '') continue
    const equals = pair.indexOf('=')
    const name = decodeFormComponent(equals === -1 ? pair : pair.slice(0, equals))
    const value = decodeFormComponent(equals === -1 ? '' : pair.slice(equals + 1))
    const previous = params[name]
    params[name] = previous === undefined ? value : [...(Array.isArray(previous) ? previous : [previous]), value]
  }
  return params
}

function decodeFormComponent (component: string): string {
  try {
    return decodeURIComponent(component.replaceAll('+', ' '))
  } catch {
    // decodeURIComponent throws on an escape that is not UTF-8 (or a malformed one).
    throw validationFailed('The form body is not valid UTF-8 or has a malformed escape')
  }
}

export function registerStrictFormParser (app: FastifyInstance): void {
  const options = { parseAs: 'buffer', bodyLimit: BODY_LIMIT_BYTES } as const
  app.addContentTypeParser('application/x-www-form-urlencoded', options, (_request, body: Buffer, done) => {
    let parsed: Record<string, string | string[]>
    try {
      parsed = parseFormStrict(body)
    } catch (error) {
      done(error as Error, undefined)
      return
    }
    done(null, parsed)
  })
}
