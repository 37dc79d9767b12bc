import http from 'node:http'
import type { FastifyInstance } from 'fastify'

/** A minimal Server-Sent Events reader over real HTTP, for the revocation stream tests. */

export interface RevokedEvent { id: string, sid: string, revokedAt: number, receivedAt: number }

export interface SseStream {
  status: number
  headers: http.IncomingHttpHeaders
  events: RevokedEvent[]
  comments: string[]
  /** Resolves once the server ended the response. */
  ended: Promise<void>
  /** Resolves when `predicate` holds for the events received so far; rejects after `ms`. */
  waitFor: (predicate: (events: RevokedEvent[]) => boolean, ms: number, what: string) => Promise<void>
  close: () => void
  /** The problem body of a refused (non-200) stream. */
  body: () => string
}

export async function listen (app: FastifyInstance): Promise<string> {
  return await app.listen({ port: 0, host: '127.0.0.1' })
}

export async function openStream (
  base: string, path = '/revocations/stream', headers: Record<string, string> = {}
): Promise<SseStream> {
  return await new Promise((resolve, reject) => {
    const options = { headers: { accept: 'text/event-stream', ...headers }, agent: false }
    const request = http.get(`${base}${path}`, options, (response) => {
      const events: RevokedEvent[] = []
      const comments: string[] = []
      const waiters = new Set<() => void>()
      let buffer = ''
      let raw = ''
      let resolveEnded: () => void = () => {}
      const ended = new Promise<void>((resolve) => { resolveEnded = resolve })
      response.setEncoding('utf8')
      response.on('data', (chunk: string) => {
        raw += chunk
        buffer += chunk
        let end: number
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          const block = buffer.slice(0, end)
          buffer = buffer.slice(end + 2)
          parseBlock(block, events, comments)
        }
        for (const waiter of waiters) waiter()
      })
      response.on('end', resolveEnded)
      response.on('close', resolveEnded)
      response.on('error', () => {})
      resolve({
        status: response.statusCode ?? 0,
        headers: response.headers,
        events,
        comments,
        ended,
        body: () => raw,
        close: () => { request.destroy() },
        waitFor: async (predicate, ms, what) => await new Promise<void>((resolve, reject) => {
          if (predicate(events)) { resolve(); return }
          const check = (): void => {
            if (!predicate(events)) return
            waiters.delete(check)
            clearTimeout(timer)
            resolve()
          }
          const timer = setTimeout(() => {
            waiters.delete(check)
            reject(new Error(`${what}: not within ${ms} ms`))
          }, ms)
          waiters.add(check)
        })
      })
    })
    request.on('error', reject)
  })
}

function parseBlock (block: string, events: RevokedEvent[], comments: string[]): void {
  const fields = new Map<string, string>()
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) { comments.push(line.slice(1).trim()); continue }
    const colon = line.indexOf(':')
    if (colon === -1) continue
    fields.set(line.slice(0, colon), line.slice(colon + 1).replace(/^ /, ''))
  }
  if (fields.get('event') !== 'revoked') return
  const data = JSON.parse(fields.get('data') ?? '{}') as { sid: string, revokedAt: number }
  events.push({ id: fields.get('id') ?? '', sid: data.sid, revokedAt: data.revokedAt, receivedAt: Date.now() })
}
