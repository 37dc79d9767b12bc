import type { FastifyInstance, FastifyServerOptions } from 'fastify'

export interface ConsumerOptions {
  /** The token service's ISSUER: the `iss` every accepted token carries. */
  issuer: string
  /** This API's identifier: the `aud` every accepted token carries (the service's AUDIENCE). */
  audience: string
  /** Where the token service is reachable; the JWKS is fetched from `<jwksBaseUrl>/.well-known/jwks.json`. */
  jwksBaseUrl: string
  logger?: FastifyServerOptions['logger']
}

/** A Fastify app with GET /hello, which answers `{ hello: <sub> }` to a valid access token and 401 otherwise. */
export function buildConsumer (options: ConsumerOptions): Promise<FastifyInstance>
