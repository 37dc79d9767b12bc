import t from 'tap'
import { ConcurrencyLimiter } from '../../src/lib/concurrency-limiter.js'

t.test('runs at most maxConcurrent tasks at once and refuses beyond the queue', async (t) => {
  const limiter = new ConcurrencyLimiter({ maxConcurrent: 2, maxQueued: 1, onOverload: () => new Error('overloaded') })
  let running = 0
  let peak = 0
  const releases: Array<() => void> = []
  const task = async (): Promise<void> => {
    running++
    peak = Math.max(peak, running)
    await new Promise<void>((resolve) => releases.push(resolve))
    running--
  }
  const first = limiter.run(task)
  const second = limiter.run(task)
  const third = limiter.run(task)
  await t.rejects(limiter.run(task), { message: 'overloaded' }, 'the fourth is refused at once')
  t.equal(limiter.active, 2)
  t.equal(limiter.queued, 1)
  await new Promise((resolve) => setImmediate(resolve))
  releases.shift()!()
  await first
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(limiter.active, 2, 'the queued task took the freed slot')
  releases.shift()!()
  releases.shift()!()
  await Promise.all([second, third])
  t.equal(peak, 2)
  t.equal(limiter.active, 0)
})

t.test('a failing task frees its slot', async (t) => {
  const limiter = new ConcurrencyLimiter({ maxConcurrent: 1, maxQueued: 0, onOverload: () => new Error('overloaded') })
  await t.rejects(limiter.run(async () => { throw new Error('boom') }), { message: 'boom' })
  t.equal(await limiter.run(async () => 42), 42)
})
