import type { LoginDeps } from '../domain/credentials/login.js'
import type { SessionDeps } from '../domain/sessions/deps.js'
import { LiveSessionCache } from '../domain/sessions/live-session-cache.js'
import type { RevocationDeps } from '../domain/sessions/revocation.js'
import type { AccessTokenDeps } from '../domain/tokens/access-token.js'
import { createSecretBox } from '../lib/secret-box.js'
import type { ServiceDeps } from './index.js'

/** The dependency bundles of the domain rules, each built once from the configuration. */
export interface Wiring {
  accessTokens: AccessTokenDeps
  sessions: SessionDeps
  login: LoginDeps
  /** What every revoking rule needs; it tells `liveSessions` what this instance revoked. */
  revocation: RevocationDeps
  /** Sessions recently read as live by the access-token check (one per app instance). */
  liveSessions: LiveSessionCache
}

export function buildWiring (deps: ServiceDeps): Wiring {
  const { config, db, clock } = deps
  const liveSessions = new LiveSessionCache()
  const revocation: RevocationDeps = {
    db, clock, sessionsRevoked: (sessionIds) => { liveSessions.forget(sessionIds) }
  }
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
    maxSessionsPerUser: config.MAX_SESSIONS_PER_USER,
    sessionsRevoked: revocation.sessionsRevoked
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
  return { accessTokens, sessions, login, revocation, liveSessions }
}
