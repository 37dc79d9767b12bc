/**
 * Browser client of the token service. One dependency-free ES module: a page imports it as is.
 *
 * Access tokens live in this module's memory only, one per resource server asked for (plus the
 * service's own, for /auth/*). The refresh token is the service's httpOnly cookie, which no script
 * can read. Refreshes are single-flight across every tab of the origin: a Web Lock
 * (navigator.locks) lets one tab rotate at a time, and a BroadcastChannel hands the new access
 * token (with the resource it is for), logins and logouts to the other tabs.
 */

export interface User {
  id: string
  email: string
  createdAt: string
}

export interface AuthClientOptions {
  /** The service's base URL, e.g. `https://auth.example.com` or `http://localhost:3000`. */
  baseUrl: string
}

export type ChangeListener = (user: User | null) => void

export interface TokenOptions {
  /**
   * The URI of a resource server registered with the service: the token's `aud` is exactly this
   * URI. Without it, the token is for the service itself (what `/auth/*` accepts).
   */
  resource?: string
}

export interface AuthClient {
  register (email: string, password: string): Promise<User>
  login (email: string, password: string): Promise<User>
  logout (): Promise<void>
  logoutAll (): Promise<void>
  me (): Promise<User | null>
  getAccessToken (options?: TokenOptions): Promise<string | null>
  fetch (input: RequestInfo | URL, init?: RequestInit, options?: TokenOptions): Promise<Response>
  onChange (listener: ChangeListener): () => void
}

/** What the service answered, as an Error: `code` is the problem's code, `status` the HTTP status. */
export class AuthClientError extends Error {
  readonly code: string
  readonly status: number
  constructor (code: string, status: number, message: string) {
    super(message)
    this.name = 'AuthClientError'
    this.code = code
    this.status = status
  }
}

interface HeldToken {
  value: string
  /** Epoch milliseconds; every tab of the origin shares the clock, so it travels as is. */
  expiresAt: number
  lifetimeMs: number
}

/** Which token: a resource server's URI, or null for the service's own. */
type Audience = string | null

type TabMessage =
  // `resource` is absent in messages from tabs still running a client without resources.
  | { type: 'token', resource?: Audience, token: HeldToken }
  | { type: 'login', token: HeldToken, user: User }
  | { type: 'logout' }

/** A refresh is due when less than a tenth of the lifetime, and at most 30 s, is left. */
const MAX_REFRESH_MARGIN_MS = 30_000
/**
 * A tab that waited for the lock expects the holder's token on the channel; the lock and the
 * channel are separate queues, so the message may come a moment after the lock. Rotating again
 * instead would spend the token the holder just got (with no grace window, the session dies).
 */
const HANDOFF_WAIT_MS = 300
const LOCK_MISSED = Symbol('lock missed')

export function createAuthClient (options: AuthClientOptions): AuthClient {
  const baseUrl = options.baseUrl.replace(/\/+$/, '')
  const channelName = `token-service-client:${baseUrl}`
  const tokens = new Map<Audience, HeldToken>()
  let user: User | null = null
  /** Set by a logout (here or in another tab), cleared by a login or a successful refresh. */
  let signedOut = false
  /**
   * Bumped whenever a token, a login or a logout arrives from another tab, or this tab rotates:
   * "something happened meanwhile".
   */
  let version = 0
  const versionWaiters = new Set<() => void>()
  const listeners = new Set<ChangeListener>()
  const inFlight = new Map<Audience, Promise<string | null>>()

  const channel = typeof BroadcastChannel === 'function' ? new BroadcastChannel(channelName) : null
  channel?.addEventListener('message', (event: MessageEvent<TabMessage>) => { adoptMessage(event.data) })

  const url = (path: string): string => `${baseUrl}${path}`
  const tell = (message: TabMessage): void => { channel?.postMessage(message) }

  function notify (next: User | null): void {
    for (const listener of [...listeners]) {
      try {
        listener(next)
      } catch (error) {
        // A failing listener must not break the client or the other listeners.
        setTimeout(() => { throw error })
      }
    }
  }

  function bumpVersion (): void {
    version++
    for (const wake of [...versionWaiters]) wake()
  }

  function forgetSession (): boolean {
    const hadSession = tokens.size > 0 || user !== null
    tokens.clear()
    user = null
    signedOut = true
    return hadSession
  }

  function adoptMessage (message: TabMessage): void {
    if (message.type === 'logout') {
      const hadSession = forgetSession()
      bumpVersion()
      if (hadSession) notify(null)
      return
    }
    signedOut = false
    if (message.type === 'login') {
      // Tokens held for resources belong to the session (maybe the user) that this login replaced.
      tokens.clear()
      tokens.set(null, message.token)
      user = message.user
      notify(user)
    } else {
      const resource = message.resource ?? null
      const held = tokens.get(resource)
      if (held === undefined || message.token.expiresAt >= held.expiresAt) tokens.set(resource, message.token)
    }
    bumpVersion()
  }

  function isFresh (held: HeldToken | undefined): held is HeldToken {
    if (held === undefined) return false
    const margin = Math.min(held.lifetimeMs / 10, MAX_REFRESH_MARGIN_MS)
    return held.expiresAt - Date.now() > margin
  }

  /** Forget the session here and in every other tab. */
  function endSession (): void {
    const hadSession = forgetSession()
    tell({ type: 'logout' })
    bumpVersion()
    if (hadSession) notify(null)
  }

  async function request (path: string, init: RequestInit): Promise<Response> {
    try {
      return await globalThis.fetch(url(path), { credentials: 'include', ...init })
    } catch (error) {
      throw new AuthClientError('network_error', 0, `The token service cannot be reached: ${String(error)}`)
    }
  }

  /**
   * POST /auth/refresh with the cookie (and `{"resource"}` for a resource server's token): a new
   * access token, or null when there is no session. Any other refusal (400 invalid_target for an
   * unregistered resource) is thrown and leaves the session as it was: the token was not spent.
   */
  async function rotate (resource: Audience): Promise<string | null> {
    const sentAt = Date.now()
    const response = await request('/auth/refresh', resource === null ? { method: 'POST' } : jsonPost({ resource }))
    if (response.status === 401) {
      endSession()
      return null
    }
    if (!response.ok) throw await errorOf(response)
    const held = heldTokenOf(await response.json() as TokenResponse, sentAt)
    tokens.set(resource, held)
    signedOut = false
    tell({ type: 'token', resource, token: held })
    // A tab of this page waiting for the lock (for another resource) expects no message from itself.
    bumpVersion()
    return held.value
  }

  /** Resolves when another tab hands something over, or after `ms`. */
  async function waitForHandoff (ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const wake = (): void => { clearTimeout(timer); versionWaiters.delete(wake); resolve() }
      const timer = setTimeout(wake, ms)
      versionWaiters.add(wake)
    })
  }

  /** Under the lock: use what another tab obtained meanwhile, else rotate. */
  async function refreshUnderLock (
    resource: Audience, startVersion: number, waited: boolean, rejected: string | undefined
  ): Promise<string | null> {
    if (waited && version === startVersion) await waitForHandoff(HANDOFF_WAIT_MS)
    const held = tokens.get(resource)
    if (isFresh(held) && held.value !== rejected) return held.value
    if (version !== startVersion && signedOut) return null
    return await rotate(resource)
  }

  async function refreshAcrossTabs (resource: Audience, rejected?: string): Promise<string | null> {
    const locks = globalThis.navigator?.locks
    const startVersion = version
    if (locks === undefined) return await refreshUnderLock(resource, startVersion, false, rejected)
    // One lock for every resource: each refresh spends the one refresh cookie, so two at once (even
    // for different resources) would present the same token twice, which is reuse.
    const lockName = `${channelName}:refresh`
    const immediate = await locks.request(lockName, { ifAvailable: true }, async (lock) =>
      lock === null ? LOCK_MISSED : await refreshUnderLock(resource, startVersion, false, rejected))
    if (immediate !== LOCK_MISSED) return immediate
    // Another tab is refreshing: wait for it, then most likely use its result.
    return await locks.request(lockName, async () => await refreshUnderLock(resource, startVersion, true, rejected))
  }

  /** One refresh per resource at a time in this tab too; callers that arrive meanwhile share its result. */
  async function refresh (resource: Audience, rejected?: string): Promise<string | null> {
    let pending = inFlight.get(resource)
    if (pending === undefined) {
      pending = refreshAcrossTabs(resource, rejected).finally(() => { inFlight.delete(resource) })
      inFlight.set(resource, pending)
    }
    return await pending
  }

  async function getAccessToken (options: TokenOptions = {}): Promise<string | null> {
    const resource = audienceOf(options)
    const held = tokens.get(resource)
    if (isFresh(held)) return held.value
    return await refresh(resource)
  }

  async function send (input: RequestInfo | URL, init: RequestInit, accessToken: string | null): Promise<Response> {
    const target = typeof input === 'string' ? new URL(input, `${baseUrl}/`) : input
    const headers = new Headers(init.headers ?? (input instanceof Request ? input.headers : undefined))
    if (accessToken !== null) headers.set('authorization', `Bearer ${accessToken}`)
    return await globalThis.fetch(target, { ...init, headers })
  }

  async function authFetch (input: RequestInfo | URL, init: RequestInit = {}, options: TokenOptions = {}): Promise<Response> {
    const resource = audienceOf(options)
    const accessToken = await getAccessToken(options)
    const retryInput = input instanceof Request ? input.clone() : input
    const first = await send(input, init, accessToken)
    if (accessToken === null || !(await isInvalidToken(first))) return first
    // The token was refused (revoked, or signed by a key this service rotated away): one refresh, one retry.
    const fresh = await refresh(resource, accessToken)
    if (fresh === null) return first
    return await send(retryInput, init, fresh)
  }

  async function login (email: string, password: string): Promise<User> {
    const sentAt = Date.now()
    const response = await request('/auth/login', jsonPost({ email, password }))
    if (!response.ok) throw await errorOf(response)
    const held = heldTokenOf(await response.json() as TokenResponse, sentAt)
    const who = await request('/auth/me', { headers: { authorization: `Bearer ${held.value}` } })
    if (!who.ok) throw await errorOf(who)
    // A new session: tokens held for resources were minted for the previous one.
    tokens.clear()
    tokens.set(null, held)
    signedOut = false
    user = ((await who.json()) as { user: User }).user
    tell({ type: 'login', token: held, user })
    notify(user)
    return user
  }

  async function register (email: string, password: string): Promise<User> {
    const response = await request('/auth/register', jsonPost({ email, password }))
    if (!response.ok) throw await errorOf(response)
    return ((await response.json()) as { user: User }).user
  }

  async function logout (): Promise<void> {
    const own = tokens.get(null)
    const headers: Record<string, string> = own === undefined ? {} : { authorization: `Bearer ${own.value}` }
    try {
      // The cookie names the session; the service revokes it and clears the cookie.
      const response = await request('/auth/logout', { method: 'POST', headers })
      if (!response.ok && response.status !== 401) throw await errorOf(response)
    } finally {
      endSession()
    }
  }

  async function logoutAll (): Promise<void> {
    const response = await authFetch('/auth/logout-all', { method: 'POST' })
    if (!response.ok && response.status !== 401) throw await errorOf(response)
    endSession()
  }

  async function me (): Promise<User | null> {
    const response = await authFetch('/auth/me')
    if (response.status === 401) {
      endSession()
      return null
    }
    if (!response.ok) throw await errorOf(response)
    user = ((await response.json()) as { user: User }).user
    return user
  }

  function onChange (listener: ChangeListener): () => void {
    listeners.add(listener)
    return () => { listeners.delete(listener) }
  }

  return { register, login, logout, logoutAll, me, getAccessToken, fetch: authFetch, onChange }
}

interface TokenResponse { accessToken: string, expiresIn: number }

function audienceOf (options: TokenOptions): Audience {
  if (options.resource === undefined) return null
  if (typeof options.resource !== 'string') throw new TypeError('resource must be a string (a resource server\'s URI)')
  return options.resource
}

/** Lifetimes are measured from when the request was sent, so clock skew never makes a token look fresher. */
function heldTokenOf (body: TokenResponse, sentAt: number): HeldToken {
  const lifetimeMs = body.expiresIn * 1000
  return { value: body.accessToken, expiresAt: sentAt + lifetimeMs, lifetimeMs }
}

function jsonPost (body: unknown): RequestInit {
  return { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }
}

async function isInvalidToken (response: Response): Promise<boolean> {
  if (response.status !== 401) return false
  if (/error="invalid_token"/.test(response.headers.get('www-authenticate') ?? '')) return true
  const body = await response.clone().json().catch(() => undefined) as { code?: unknown } | undefined
  return body?.code === 'invalid_token'
}

async function errorOf (response: Response): Promise<AuthClientError> {
  const body = await response.json().catch(() => undefined) as { code?: unknown, detail?: unknown, error?: unknown } | undefined
  const code = typeof body?.code === 'string' ? body.code : typeof body?.error === 'string' ? body.error : 'unexpected_response'
  const detail = typeof body?.detail === 'string' ? body.detail : `The token service answered ${response.status}`
  return new AuthClientError(code, response.status, detail)
}
