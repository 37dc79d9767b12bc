/**
 * At most `maxConcurrent` tasks at once and `maxQueued` waiting; beyond that `run` rejects at once
 * with the error from `onOverload`, instead of letting work pile up without limit.
 */
export class ConcurrencyLimiter {
  readonly #maxConcurrent: number
  readonly #maxQueued: number
  readonly #onOverload: () => Error
  readonly #waiting: Array<() => void> = []
  #active = 0

  constructor (options: { maxConcurrent: number, maxQueued: number, onOverload: () => Error }) {
    this.#maxConcurrent = options.maxConcurrent
    this.#maxQueued = options.maxQueued
    this.#onOverload = options.onOverload
  }

  get active (): number { return this.#active }
  get queued (): number { return this.#waiting.length }

  async run<T> (task: () => Promise<T>): Promise<T> {
    if (this.#active >= this.#maxConcurrent) {
      if (this.#waiting.length >= this.#maxQueued) throw this.#onOverload()
      await new Promise<void>((resolve) => { this.#waiting.push(resolve) })
    } else {
      this.#active++
    }
    try {
      return await task()
    } finally {
      // Hand the slot straight to the next waiter (active stays the same), or free it.
      const next = this.#waiting.shift()
      if (next !== undefined) next(); else this.#active--
    }
  }
}
