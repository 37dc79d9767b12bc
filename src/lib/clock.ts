/**
 * Time is a dependency, so that tests can move it. `buildApp` takes one clock and hands it to
 * every rule; nothing below the entry points calls `new Date()` to decide anything.
 */
export interface Clock {
  now: () => Date
  /**
   * True for this machine's wall clock. Rules judged inside the database (the rotation statement)
   * then use the database's clock instead, which every instance shares, so that instances with
   * skewed clocks agree. A clock without it (a test clock) is the time everywhere, SQL included.
   */
  readonly wall?: boolean
}

export const systemClock: Clock = { now: () => new Date(), wall: true }

/** The time a database-side rule must use: null means "the database's own clock". */
export const databaseTime = (clock: Clock): Date | null => clock.wall === true ? null : clock.now()

export const addSeconds = (date: Date, seconds: number): Date => new Date(date.getTime() + seconds * 1000)

export const epochSeconds = (date: Date): number => Math.floor(date.getTime() / 1000)
