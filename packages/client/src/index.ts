/**
 * Browser client of the token service. One dependency-free ES module: a page imports it as is.
 *
 * The access token lives in this module's memory only. The refresh token is the service's
 * httpOnly cookie, which no script can read. Refreshes are single-flight across every tab of the
 * origin: a Web Lock (navigator.locks) lets one tab rotate at a time, and a BroadcastChannel hands
 * the new access token, logins and logouts to the other tabs.
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

export interface AuthClient {
  register (email: string, password: string): Promise<User>
  login (email: string, password: string): Promise<User>
  logout (): Promise<void>
  logoutAll (): Promise<void>
  me (): Promise<User | null>
  getAccessToken (): Promise<string | null>
  fetch (input: RequestInfo | URL, init?: RequestInit): Promise<Response>
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

type TabMessage =
  | { type: 'token', token: HeldToken }
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
  let token: HeldToken | null = null
  let user: User | null = null
  /** Bumped whenever another tab hands over a token or a logout: "something happened meanwhile". */
  let version = 0
  const versionWaiters = new Set<() => void>()
  const listeners = new Set<ChangeListener>()
  let inFlight: Promise<string | null> | null = null

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

  function adoptMessage (message: TabMessage): void {
    if (message.type === 'logout') {
      const hadSession = token !== null || user !== null
      token = null
      user = null
      bumpVersion()
      if (hadSession) notify(null)
      return
    }
    if (token === null || message.token.expiresAt >= token.expiresAt) token = message.token
    if (message.type === 'login') {
      user = message.user
      notify(user)
    }
    bumpVersion()
  }

  function isFresh (held: HeldToken | null): held is HeldToken {
    if (held === null) return false
    const margin = Math.min(held.lifetimeMs / 10, MAX_REFRESH_MARGIN_MS)
    return held.expiresAt - Date.now() > margin
  }

  /** Forget the session here and in every other tab. */
  function endSession (): void {
    const hadSession = token !== null || user !== null
    token = null
    user = null
    tell({ type: 'logout' })
    if (hadSession) notify(null)
  }

  async function request (path: string, init: RequestInit): Promise<Response> {
    try {
      return await globalThis.fetch(url(path), { credentials: 'include', ...init })
    } catch (error) {
      throw new AuthClientError('network_error', 0, `The token service cannot be reached: ${String(error)}`)
    }
  }

  /** POST /auth/refresh with the cookie: a new access token, or null when there is no session. */
  async function rotate (): Promise<string | null> {
    const sentAt = Date.now()
    const response = await request('/auth/refresh', { method: 'POST' })
    if (response.status === 401) {
      endSession()
      return null
    }
    if (!response.ok) throw await errorOf(response)
    token = heldTokenOf(await response.json() as TokenResponse, sentAt)
    tell({ type: 'token', token })
    return token.value
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
  async function refreshUnderLock (startVersion: number, waited: boolean, rejected: string | undefined): Promise<string | null> {
    if (waited && version === startVersion) await waitForHandoff(HANDOFF_WAIT_MS)
    if (isFresh(token) && token.value !== rejected) return token.value
    if (version !== startVersion && token === null) return null
    return await rotate()
  }

  async function refreshAcrossTabs (rejected?: string): Promise<string | null> {
    const locks = globalThis.navigator?.locks
    const startVersion = version
    if (locks === undefined) return await refreshUnderLock(startVersion, false, rejected)
    const lockName = `${channelName}:refresh`
    const immediate = await locks.request(lockName, { ifAvailable: true }, async (lock) =>
      lock === null ? LOCK_MISSED : await refreshUnderLock(startVersion, false, rejected))
    if (immediate !== LOCK_MISSED) return immediate
    // Another tab is refreshing: wait for it, then most likely use its result.
    return await locks.request(lockName, async () => await refreshUnderLock(startVersion, true, rejected))
  }

  /** One refresh at a time in this tab too; callers that arrive meanwhile share its result. */
  async function refresh (rejected?: string): Promise<string | null> {
    inFlight ??= refreshAcrossTabs(rejected).finally(() => { inFlight = null })
    return await inFlight
  }

  async function getAccessToken (): Promise<string | null> {
    if (isFresh(token)) return token.value
    return await refresh()
  }

  async function send (input: RequestInfo | URL, init: RequestInit, accessToken: string | null): Promise<Response> {
    const target = typeof input === 'string' ? new URL(input, `${baseUrl}/`) : input
    const headers = new Headers(init.headers ?? (input instanceof Request ? input.headers : undefined))
    if (accessToken !== null) headers.set('authorization', `Bearer ${accessToken}`)
    return await globalThis.fetch(target, { ...init, headers })
  }

  async function authFetch (input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> {
    const accessToken = await getAccessToken()
    const retryInput = input instanceof Request ? input.clone() : input
    const first = await send(input, init, accessToken)
    if (accessToken === null || !(await isInvalidToken(first))) return first
    // The token was refused (revoked, or signed by a key this service rotated away): one refresh, one retry.
    const fresh = await refresh(accessToken)
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
    token = held
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
    const headers: Record<string, string> = token === null ? {} : { authorization: `Bearer ${token.value}` }
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
