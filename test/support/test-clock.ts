import type { Clock } from '../../src/lib/clock.js'

/** A clock a test moves by hand; it starts at the real time, so rows written by SQL defaults agree. */
export interface TestClock extends Clock {
  /** Move the time forward (or back, with a negative number) by this many seconds. */
  advance: (seconds: number) => void
  set: (date: Date) => void
}

export function createTestClock (start: Date = new Date()): TestClock {
  let current = start.getTime()
  return {
    now: () => new Date(current),
    advance: (seconds) => { current += seconds * 1000 },
    set: (date) => { current = date.getTime() }
  }
}
