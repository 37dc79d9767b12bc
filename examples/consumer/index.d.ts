import type { FastifyInstance, FastifyServerOptions } from 'fastify'

export interface ConsumerOptions {
  /** The token service's ISSUER, which is also where it is reached (discovery, JWKS, revocation feed). */
  issuer: string
  /** This API's identifier: the `aud` every accepted token carries (the service's AUDIENCE). */
  audience: string
  revocations?: 'stream' | 'poll' | 'off'
  failMode?: 'closed' | 'open'
  maxStalenessSeconds?: number
  logger?: FastifyServerOptions['logger']
}

/** A Fastify app with GET /hello: `{ hello: <sub> }` for a valid access token, 401 or 503 problem+json otherwise. */
export function buildConsumer (options: ConsumerOptions): Promise<FastifyInstance>
