import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { Config } from '../config.js'

/** The OpenAPI document, built from the route schemas, and Swagger UI at /docs. */
export const OPENAPI_INFO = {
  title: 'Token service',
  version: '0.1.0',
  description: 'Issues short-lived JWT access tokens (verifiable offline through the JWKS) and rotating refresh ' +
    'tokens with reuse detection. Errors are RFC 9457 problem+json on /auth and the operations endpoints, ' +
    'RFC 6749 on /oauth.',
  // package.json says UNLICENSED, npm's word for proprietary; SPDX lists no such licence, hence a LicenseRef.
  license: { name: 'Proprietary (all rights reserved)', identifier: 'LicenseRef-Proprietary' }
}

/**
 * The one server: this service at its configured issuer. The committed openapi.yaml is generated
 * with ISSUER unset, so it carries the development default and says so; /docs/json on a deployment
 * names that deployment.
 */
export function openApiServers (config: Pick<Config, 'ISSUER' | 'PORT'>): Array<{ url: string, description: string }> {
  const developmentDefault = `http://localhost:${config.PORT}`
  const description = config.ISSUER === developmentDefault
    ? 'Development default (ISSUER unset); a deployment serves its own issuer in /docs/json'
    : 'This deployment (its configured ISSUER)'
  return [{ url: config.ISSUER, description }]
}

export default fp(async function docsPlugin (fastify) {
  await fastify.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: OPENAPI_INFO,
      servers: openApiServers(fastify.config),
      tags: [
        { name: 'auth', description: 'Credentials, tokens and sessions' },
        { name: 'keys', description: 'Signing keys and discovery' },
        { name: 'oauth', description: 'OAuth 2.0 endpoints (RFC 6749, 7009, 7662)' },
        { name: 'revocations', description: 'The revocation feed: revoked sessions, for verifiers of access tokens' },
        { name: 'operations', description: 'Health and metrics' }
      ],
      components: {
        securitySchemes: {
          bearerAuth: {
            type: 'http',
            scheme: 'bearer',
            bearerFormat: 'JWT',
            description: 'An access token from /auth/login or /auth/refresh'
          },
          refreshCookie: {
            type: 'apiKey',
            in: 'cookie',
            name: 'refresh_token',
            description: 'The httpOnly refresh-token cookie set by login with delivery "cookie"'
          },
          clientBasic: { type: 'http', scheme: 'basic', description: 'OAuth client id and secret (RFC 6749 §2.3.1)' }
        }
      }
    },
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) => typeof json.$id === 'string' ? json.$id : `def-${i}`
    }
  })
  await fastify.register(swaggerUi, {
    routePrefix: '/docs',
    uiConfig: { docExpansion: 'list', deepLinking: true, tryItOutEnabled: false },
    staticCSP: true,
    // The default policy adds upgrade-insecure-requests, which blanks /docs on any plain-http
    // host other than localhost (browsers then fetch the UI's assets over https).
    transformStaticCSP: (header: string) => header.replace(/\s*upgrade-insecure-requests;?/, '')
  })
}, { name: 'docs', dependencies: ['config', 'errors'], fastify: '5.x' })
