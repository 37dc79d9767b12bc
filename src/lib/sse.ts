/**
 * The few lines of the Server-Sent Events wire format the revocation stream needs
 * (https://html.spec.whatwg.org/multipage/server-sent-events.html). Values are single-line by
 * construction (JSON without newlines, cursors of digits), so no field is split.
 */
export interface SseEvent { event: string, id: string, data: string }

const SINGLE_LINE = /^[^\r\n]*$/

export function sseEvent ({ event, id, data }: SseEvent): string {
  if (!SINGLE_LINE.test(event) || !SINGLE_LINE.test(id) || !SINGLE_LINE.test(data)) {
    throw new Error('SSE fields must be single lines')
  }
  return `event: ${event}\nid: ${id}\ndata: ${data}\n\n`
}

/** A comment line: ignored by clients, but it keeps proxies from closing an idle stream. */
export const sseComment = (text: string): string => `: ${text.replace(/[\r\n]+/g, ' ')}\n\n`

/** How long a client waits before reconnecting after the stream ends. */
export const sseRetry = (milliseconds: number): string => `retry: ${Math.round(milliseconds)}\n\n`
