import type { LoginDeps } from '../domain/credentials/login.js'
import type { SessionDeps } from '../domain/sessions/deps.js'
import type { AccessTokenDeps } from '../domain/tokens/access-token.js'
import { createSecretBox } from '../lib/secret-box.js'
import type { ServiceDeps } from './index.js'

/** The dependency bundles of the domain rules, each built once from the configuration. */
export interface Wiring {
  accessTokens: AccessTokenDeps
  sessions: SessionDeps
  login: LoginDeps
}

export function buildWiring (deps: ServiceDeps): Wiring {
  const { config, db, clock } = deps
  const accessTokens: AccessTokenDeps = {
    keys: deps.keys,
    clock,
    issuer: config.ISSUER,
    audience: config.AUDIENCE,
    ttlSeconds: config.ACCESS_TOKEN_TTL
  }
  const sessions: SessionDeps = {
    db,
    clock,
    successorBox: createSecretBox(config.KEY_ENCRYPTION_SECRET, 'refresh-token-successor'),
    policy: { graceSeconds: config.REFRESH_REUSE_GRACE_SECONDS, idleSeconds: config.SESSION_IDLE_TTL },
    accessTokens,
    sessionTtlSeconds: config.REFRESH_TOKEN_TTL,
    maxSessionsPerUser: config.MAX_SESSIONS_PER_USER
  }
  const login: LoginDeps = {
    db,
    clock,
    throttle: {
      freeFailures: config.LOGIN_FAILURES_BEFORE_BACKOFF,
      maxBackoffSeconds: config.LOGIN_BACKOFF_MAX_SECONDS
    },
    hasher: deps.hasher
  }
  return { accessTokens, sessions, login }
}
