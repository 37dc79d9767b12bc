import type { FastifyReply, FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import type { Config } from '../../config.js'
import type { IssuedTokens } from '../../services/index.js'
import { csrfRejected, validationFailed } from '../../errors.js'
import { countCookies } from '../../lib/cookie-count.js'

export const REFRESH_COOKIE = 'refresh_token'
export const REFRESH_COOKIE_PATH = '/auth'

export const TokenResponse = Type.Object({
  accessToken: Type.String({ description: 'JWT (RFC 9068, typ at+jwt)' }),
  tokenType: Type.Literal('Bearer'),
  expiresIn: Type.Integer({ description: 'Access-token lifetime in seconds' }),
  refreshToken: Type.Optional(Type.String({
    description: 'Only with delivery "body"; with "cookie" it is in the httpOnly cookie alone'
  })),
  refreshExpiresIn: Type.Integer({
    description: 'Seconds until the session ends at the latest (rotation never extends it)'
  }),
  sessionId: Type.String({ format: 'uuid' })
}, {
  $id: 'TokenResponse',
  additionalProperties: false,
  examples: [{
    accessToken: 'eyJhbGciOiJFUzI1NiIsImtpZCI6Ii4uLiIsInR5cCI6ImF0K2p3dCJ9.eyJzdWIiOiIuLi4ifQ.c2ln',
    tokenType: 'Bearer',
    expiresIn: 900,
    refreshToken: 'mF_9.B5f-4.1JqM-example-opaque-refresh-token',
    refreshExpiresIn: 1209600,
    sessionId: '01936d2e-8c1a-7b3e-9f00-2b6f0e6c1a11'
  }]
})

/**
 * Answer with a token pair in the session's delivery mode: `cookie` puts the refresh token only
 * in an httpOnly cookie, `body` only in the JSON. Never cached (RFC 6749 §5.1).
 */
export function sendTokens (reply: FastifyReply, config: Config, tokens: IssuedTokens): FastifyReply {
  reply.header('cache-control', 'no-store').header('pragma', 'no-cache')
  const body: Record<string, unknown> = {
    accessToken: tokens.accessToken,
    tokenType: 'Bearer',
    expiresIn: tokens.expiresIn,
    refreshExpiresIn: tokens.refreshExpiresIn,
    sessionId: tokens.sessionId
  }
  if (tokens.delivery === 'body') {
    body.refreshToken = tokens.refreshToken
  } else {
    reply.setCookie(REFRESH_COOKIE, tokens.refreshToken, {
      httpOnly: true,
      secure: config.COOKIE_SECURE,
      sameSite: 'strict',
      path: REFRESH_COOKIE_PATH,
      maxAge: tokens.refreshExpiresIn
    })
  }
  return reply.code(200).send(body)
}

export function clearRefreshCookie (reply: FastifyReply, config: Config): void {
  reply.clearCookie(REFRESH_COOKIE, {
    httpOnly: true, secure: config.COOKIE_SECURE, sameSite: 'strict', path: REFRESH_COOKIE_PATH
  })
}

/**
 * The refresh token of a request: from the JSON body if given there, else from the cookie. A
 * cookie travels with every request the browser makes, so a cookie-authenticated request from
 * an Origin we do not know is refused (CSRF; SameSite=Strict is the first line, this the second).
 */
export function presentedRefreshToken (
  request: FastifyRequest, config: Config
): { token: string, via: 'body' | 'cookie' } | undefined {
  // Checked before anything else, so that neither cookie is spent or cleared.
  if (countCookies(request.headers.cookie, REFRESH_COOKIE) > 1) {
    throw validationFailed(`The request carries more than one ${REFRESH_COOKIE} cookie`)
  }
  const fromBody = (request.body as { refreshToken?: unknown } | undefined)?.refreshToken
  if (typeof fromBody === 'string') return { token: fromBody, via: 'body' }
  const fromCookie = request.cookies[REFRESH_COOKIE]
  if (fromCookie === undefined || fromCookie === '') return undefined
  assertAllowedOrigin(request, config)
  return { token: fromCookie, via: 'cookie' }
}

export function assertAllowedOrigin (request: FastifyRequest, config: Config): void {
  const origin = request.headers.origin
  if (origin !== undefined && !config.ALLOWED_ORIGINS.includes(origin)) {
    throw csrfRejected('Cookie-authenticated requests from this origin are not allowed')
  }
  // Not every client sends Origin; a browser that omits it still says when the request is cross-site.
  if (origin === undefined && request.headers['sec-fetch-site'] === 'cross-site') {
    throw csrfRejected('Cross-site cookie-authenticated requests are not allowed')
  }
}

/** preValidation: a cookie-only request has no body at all; validate it as `{}`. */
export async function treatMissingBodyAsEmpty (request: FastifyRequest): Promise<void> {
  request.body ??= {}
}
