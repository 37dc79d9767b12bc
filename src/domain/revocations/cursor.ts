/**
 * A position in the revocation feed: the `(tx, seq)` of the last record handed out, or `(xmin, 0)`
 * for "every record of a transaction older than xmin". Records are handed out in `(tx, seq)` order
 * and only once their transaction is older than every running one, so everything at or before a
 * position handed out is final: nothing can commit behind it later.
 */
export interface FeedPosition { tx: bigint, seq: bigint }

const CURSOR = /^(\d{1,20})\.(\d{1,19})$/
const MAX_TX = (1n << 64n) - 1n
const MAX_SEQ = (1n << 63n) - 1n

/** The opaque text of a position, as `cursor`, `since` and the SSE `id` carry it. */
export const encodeCursor = (position: FeedPosition): string => `${position.tx}.${position.seq}`

/** A position from its cursor text; undefined when the text is not a cursor this service hands out. */
export function decodeCursor (text: string): FeedPosition | undefined {
  const match = CURSOR.exec(text)
  if (match === null) return undefined
  const tx = BigInt(match[1]!)
  const seq = BigInt(match[2]!)
  return tx <= MAX_TX && seq <= MAX_SEQ ? { tx, seq } : undefined
}

export function comparePositions (a: FeedPosition, b: FeedPosition): number {
  if (a.tx !== b.tx) return a.tx < b.tx ? -1 : 1
  return a.seq === b.seq ? 0 : a.seq < b.seq ? -1 : 1
}

/** Before every record there is. */
export const FEED_START: FeedPosition = Object.freeze({ tx: 0n, seq: 0n })
