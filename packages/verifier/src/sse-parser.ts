/** One Server-Sent Event as the HTML standard's parser dispatches it. */
export interface ServerSentEvent { event: string, data: string, id: string | undefined }

/**
 * An incremental text/event-stream parser (HTML Living Standard, "Interpreting an event stream"):
 * lines end in LF, CRLF or CR; `:` starts a comment; a blank line dispatches the event. Small
 * enough to own, so the kit's only runtime dependency stays `jose`.
 */
export class SseParser {
  private buffer = ''
  private pendingCr = false
  private data: string[] = []
  private event = ''
  private id: string | undefined
  /** The last `retry:` value in milliseconds, if the server sent one. */
  retryMs: number | undefined

  constructor (private readonly onEvent: (event: ServerSentEvent) => void) {}

  push (text: string): void {
    let chunk = text
    // A CR at the end of the previous chunk may be the first half of a CRLF.
    if (this.pendingCr && chunk.startsWith('\n')) chunk = chunk.slice(1)
    this.pendingCr = false
    this.buffer += chunk
    let start = 0
    for (let i = 0; i < this.buffer.length; i++) {
      const char = this.buffer[i]
      if (char !== '\n' && char !== '\r') continue
      this.line(this.buffer.slice(start, i))
      if (char === '\r') {
        if (i + 1 === this.buffer.length) this.pendingCr = true
        else if (this.buffer[i + 1] === '\n') i++
      }
      start = i + 1
    }
    this.buffer = this.buffer.slice(start)
  }

  private line (line: string): void {
    if (line === '') { this.dispatch(); return }
    if (line.startsWith(':')) return
    const colon = line.indexOf(':')
    const field = colon === -1 ? line : line.slice(0, colon)
    let value = colon === -1 ? '' : line.slice(colon + 1)
    if (value.startsWith(' ')) value = value.slice(1)
    if (field === 'data') this.data.push(value)
    else if (field === 'event') this.event = value
    else if (field === 'id' && !value.includes('\0')) this.id = value
    else if (field === 'retry' && /^\d+$/.test(value)) this.retryMs = Number(value)
  }

  private dispatch (): void {
    const event = { event: this.event === '' ? 'message' : this.event, data: this.data.join('\n'), id: this.id }
    const hasData = this.data.length > 0
    this.data = []
    this.event = ''
    if (hasData) this.onEvent(event)
  }
}
