import { Type, type Static } from 'typebox'
import { Value } from 'typebox/value'
import { DEFAULT_SIGNING_ALGORITHM, SIGNING_ALGORITHMS } from './domain/keys/signing-algorithms.js'
import { DEV_SECRET_FILE, readOrCreateDevelopmentSecret } from './lib/dev-secret.js'
import { parseTrustProxy, type TrustedProxies } from './lib/trusted-proxy.js'

/**
 * Every setting of the service. Only this module reads `process.env`; everything else receives a
 * frozen `Config`. Durations are integer seconds, as the README's configuration table documents them.
 */
const Seconds = (defaultValue: number, minimum = 1) => Type.Integer({ minimum, default: defaultValue })
const Flag = (defaultValue: boolean) => Type.Boolean({ default: defaultValue })
const MIN_SECRET_LENGTH = 32

export const ConfigSchema = Type.Object({
  // Anything else (`prod`, `Production`) would silently run development mode with a generated secret.
  NODE_ENV: Type.Enum(['development', 'test', 'production'], { default: 'development' }),
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 3000 }),
  // `localhost` makes Fastify listen on both 127.0.0.1 and ::1; containers set HOST=0.0.0.0.
  HOST: Type.String({ minLength: 1, default: 'localhost' }),
  LOG_LEVEL: Type.Enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { default: 'info' }),

  DATABASE_URL: Type.Optional(Type.String({ minLength: 1 })),
  DATA_DIR: Type.String({ minLength: 1, default: './data' }),
  MIGRATE_ON_START: Flag(true),
  DB_POOL_MAX: Type.Integer({ minimum: 1, maximum: 1000, default: 10 }),
  DB_CONNECTION_TIMEOUT_MS: Type.Integer({ minimum: 100, default: 2000 }),
  DB_STATEMENT_TIMEOUT_MS: Type.Integer({ minimum: 100, default: 5000 }),

  ISSUER: Type.Optional(Type.String({ minLength: 1 })),
  AUDIENCE: Type.Optional(Type.String({ minLength: 1 })),
  FIRST_PARTY_CLIENT_ID: Type.String({ minLength: 1, default: 'first-party' }),
  JWT_ALG: Type.Enum(SIGNING_ALGORITHMS, { default: DEFAULT_SIGNING_ALGORITHM }),
  ACCESS_TOKEN_TTL: Seconds(900),
  REFRESH_TOKEN_TTL: Seconds(1_209_600),
  SESSION_IDLE_TTL: Seconds(86_400),
  // A replay within the window is trusted as a benign race; a longer window would be a theft window.
  REFRESH_REUSE_GRACE_SECONDS: Type.Integer({ minimum: 0, maximum: 60, default: 10 }),
  MAX_SESSIONS_PER_USER: Type.Integer({ minimum: 0, default: 0 }),
  // The revocation feed: how often each instance reads new records, and how often an idle stream
  // gets a comment (at most 15 s, so proxies with a 30 s idle timeout keep it open).
  REVOCATIONS_POLL_INTERVAL_MS: Type.Integer({ minimum: 20, maximum: 1000, default: 250 }),
  REVOCATIONS_HEARTBEAT_SECONDS: Type.Integer({ minimum: 1, maximum: 15, default: 10 }),
  KEY_ENCRYPTION_SECRET: Type.Optional(Type.String({ minLength: MIN_SECRET_LENGTH })),
  KEY_ROTATION_DAYS: Type.Integer({ minimum: 0, default: 30 }),
  // The JWKS Cache-Control max-age; a next key signs only after it has been published this long.
  JWKS_MAX_AGE_SECONDS: Type.Integer({ minimum: 0, maximum: 86_400, default: 300 }),

  ALLOWED_ORIGINS: Type.Optional(Type.String()),
  COOKIE_SECURE: Flag(true),
  TRUST_PROXY: Type.String({ default: 'false' }),
  REDIS_URL: Type.Optional(Type.String({ minLength: 1 })),

  RATE_LIMIT_ENABLED: Flag(true),
  RATE_LIMIT_WINDOW_SECONDS: Seconds(60),
  // Per IP per window: one IP must meet a 429 within 100 logins/registrations and 200 refreshes a
  // minute; these leave room for a busy office behind one NAT without letting a script run free.
  RATE_LIMIT_REGISTER_MAX: Type.Integer({ minimum: 1, default: 50 }),
  RATE_LIMIT_LOGIN_MAX: Type.Integer({ minimum: 1, default: 60 }),
  RATE_LIMIT_REFRESH_MAX: Type.Integer({ minimum: 1, default: 150 }),
  RATE_LIMIT_TOKEN_MAX: Type.Integer({ minimum: 1, default: 120 }),
  // Per account: back-off starts after this many failures, well within 20 failures (the documented ceiling).
  LOGIN_FAILURES_BEFORE_BACKOFF: Type.Integer({ minimum: 1, default: 10 }),
  LOGIN_BACKOFF_MAX_SECONDS: Seconds(900),
  // argon2 shares libuv's 4-thread pool with DNS and file I/O: bound it (see createPasswordHasher).
  PASSWORD_HASH_CONCURRENCY: Type.Integer({ minimum: 1, maximum: 64, default: 2 }),
  PASSWORD_HASH_QUEUE: Type.Integer({ minimum: 0, default: 64 })
})

type RawConfig = Static<typeof ConfigSchema>

type Derived = 'ISSUER' | 'AUDIENCE' | 'KEY_ENCRYPTION_SECRET' | 'ALLOWED_ORIGINS' | 'TRUST_PROXY'

/** The validated configuration, with the values that default to other values filled in. */
export type Config = Readonly<Omit<RawConfig, Derived> & {
  ISSUER: string
  AUDIENCE: string
  /** Given, or (outside production) the development secret kept in DATA_DIR (see src/lib/dev-secret.ts). */
  KEY_ENCRYPTION_SECRET: string
  ALLOWED_ORIGINS: readonly string[]
  /** Fastify's `trustProxy`: false or the proxies' addresses/CIDRs (see src/lib/trusted-proxy.ts). */
  TRUST_PROXY: TrustedProxies
  /** One line each, logged at start: settings that were accepted but narrowed. */
  CONFIG_WARNINGS: readonly string[]
}>

export class ConfigError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'ConfigError'
  }
}

const REQUIRED_IN_PRODUCTION = ['DATABASE_URL', 'ISSUER', 'KEY_ENCRYPTION_SECRET'] as const

export interface LoadConfigOptions {
  /**
   * The KEY_ENCRYPTION_SECRET outside production when none is given: by default the one kept in
   * DATA_DIR, created on first use. Tests of the parsing alone pass a fixed one.
   */
  developmentSecret?: (dataDir: string) => string
}

/** The configuration of this process, from its environment: what the server and every command run on. */
export function loadConfigFromEnvironment (): Config {
  return loadConfig(process.env)
}

/**
 * Parse and validate configuration. Throws a `ConfigError` whose message is one line naming every
 * invalid or (in production) missing variable.
 */
export function loadConfig (env: Record<string, string | undefined>, options: LoadConfigOptions = {}): Config {
  const known = Object.keys(ConfigSchema.properties)
  const input: Record<string, unknown> = {}
  for (const key of known) {
    const value = env[key]
    if (value !== undefined && value !== '') input[key] = value
  }

  const production = input.NODE_ENV === 'production'
  if (production) {
    const missing = REQUIRED_IN_PRODUCTION.filter((name) => input[name] === undefined)
    if (missing.length > 0) {
      throw new ConfigError(`missing required configuration for NODE_ENV=production: ${missing.join(', ')}`)
    }
  }

  const withDefaults = Value.Default(ConfigSchema, Value.Convert(ConfigSchema, input))
  if (!Value.Check(ConfigSchema, withDefaults)) {
    const problems = Value.Errors(ConfigSchema, withDefaults)
      .map((error) => `${error.instancePath.slice(1) || '(config)'} ${error.message}`)
    throw new ConfigError(`invalid configuration: ${[...new Set(problems)].join('; ')}`)
  }
  return resolveDerived(withDefaults, options.developmentSecret ?? readOrCreateDevelopmentSecret)
}

function resolveDerived (raw: RawConfig, developmentSecret: (dataDir: string) => string): Config {
  const issuer = (raw.ISSUER ?? `http://localhost:${raw.PORT}`).replace(/\/+$/, '')
  let issuerOrigin: string
  try {
    issuerOrigin = new URL(issuer).origin
  } catch {
    throw new ConfigError(`invalid configuration: ISSUER must be an absolute URL, got ${JSON.stringify(issuer)}`)
  }
  const trustProxy = parseTrustProxy(raw.TRUST_PROXY, raw.NODE_ENV === 'production')
  if (trustProxy.refusal !== undefined) throw new ConfigError(trustProxy.refusal)
  const origins = raw.ALLOWED_ORIGINS === undefined
    ? [issuerOrigin]
    : raw.ALLOWED_ORIGINS.split(',').map((origin) => origin.trim()).filter((origin) => origin !== '')
  return Object.freeze({
    ...raw,
    ISSUER: issuer,
    // Tokens are for the APIs of this deployment unless the operator names an audience.
    AUDIENCE: raw.AUDIENCE ?? issuer,
    KEY_ENCRYPTION_SECRET: raw.KEY_ENCRYPTION_SECRET ?? checkedDevelopmentSecret(raw.DATA_DIR, developmentSecret),
    ALLOWED_ORIGINS: Object.freeze(origins),
    TRUST_PROXY: trustProxy.proxies,
    CONFIG_WARNINGS: Object.freeze(trustProxy.warning === undefined ? [] : [trustProxy.warning])
  })
}

/**
 * Production never gets here without a secret (REQUIRED_IN_PRODUCTION). A DATA_DIR the service
 * cannot write, or a hand-edited secret file, is one line like every other configuration error.
 */
function checkedDevelopmentSecret (dataDir: string, developmentSecret: (dataDir: string) => string): string {
  let secret: string
  try {
    secret = developmentSecret(dataDir)
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message
    throw new ConfigError('invalid configuration: cannot read or create the development secret in DATA_DIR ' +
      `(${JSON.stringify(dataDir)}: ${reason}); set KEY_ENCRYPTION_SECRET or fix DATA_DIR`)
  }
  if (secret.length < MIN_SECRET_LENGTH) {
    throw new ConfigError(`invalid configuration: the development secret in DATA_DIR/${DEV_SECRET_FILE} is shorter ` +
      `than ${MIN_SECRET_LENGTH} characters (delete it to have a new one generated, or set KEY_ENCRYPTION_SECRET)`)
  }
  return secret
}
