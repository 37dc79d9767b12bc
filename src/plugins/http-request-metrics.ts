import type { Registry } from 'prom-client'

/** Upper bounds of the latency histogram, in seconds. */
export const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const

interface Series {
  labels: { method: string, route: string, status_code: string }
  count: number
  sum: number
  /** Observations per bucket (not cumulative); the last one is +Inf. */
  buckets: number[]
}

interface MetricValue { labels: Record<string, string | number>, value: number, metricName?: string }

/**
 * The HTTP request counter and latency histogram, counted with plain arithmetic on one object per
 * (method, route pattern, status) and turned into Prometheus series only when scraped. prom-client's
 * own Counter and Histogram validate and hash the label object on every request, which was a twentieth
 * of the service's time under JWKS load; the exposition here is the same (prom-client's registry
 * writes it from the same value shapes its own metrics hand it).
 */
export class HttpRequestMetrics {
  private readonly series = new Map<string, Series>()

  record (method: string, route: string, statusCode: number, seconds: number): void {
    const key = `${method} ${statusCode} ${route}`
    let series = this.series.get(key)
    if (series === undefined) {
      series = {
        labels: { method, route, status_code: String(statusCode) },
        count: 0,
        sum: 0,
        buckets: new Array<number>(DURATION_BUCKETS.length + 1).fill(0)
      }
      this.series.set(key, series)
    }
    series.count++
    series.sum += seconds
    let bucket = 0
    while (bucket < DURATION_BUCKETS.length && seconds > DURATION_BUCKETS[bucket]!) bucket++
    series.buckets[bucket]!++
  }

  /** Register the two metrics with a prom-client registry (which only ever calls `get` and `reset`). */
  registerWith (register: Registry): void {
    const counter = {
      name: 'http_requests_total',
      help: 'HTTP requests answered, by method, route pattern and status code',
      type: 'counter',
      aggregator: 'sum',
      get: async () => ({ ...counter, values: this.counterValues() }),
      reset: () => { this.series.clear() }
    }
    const histogram = {
      name: 'http_request_duration_seconds',
      help: 'Time from request received to response sent, by method, route pattern and status code',
      type: 'histogram',
      aggregator: 'sum',
      get: async () => ({ ...histogram, values: this.histogramValues() }),
      reset: () => { this.series.clear() }
    }
    // The registry's type names its own classes; it reads nothing from them but these members.
    register.registerMetric(counter as unknown as Parameters<Registry['registerMetric']>[0])
    register.registerMetric(histogram as unknown as Parameters<Registry['registerMetric']>[0])
  }

  private counterValues (): MetricValue[] {
    return [...this.series.values()].map((series) => ({ labels: series.labels, value: series.count }))
  }

  private histogramValues (): MetricValue[] {
    const values: MetricValue[] = []
    for (const series of this.series.values()) {
      let cumulative = 0
      DURATION_BUCKETS.forEach((bound, index) => {
        cumulative += series.buckets[index]!
        values.push({ labels: { ...series.labels, le: bound }, value: cumulative, metricName: `${HISTOGRAM}_bucket` })
      })
      values.push({ labels: { ...series.labels, le: '+Inf' }, value: series.count, metricName: `${HISTOGRAM}_bucket` })
      values.push({ labels: series.labels, value: series.sum, metricName: `${HISTOGRAM}_sum` })
      values.push({ labels: series.labels, value: series.count, metricName: `${HISTOGRAM}_count` })
    }
    return values
  }
}

const HISTOGRAM = 'http_request_duration_seconds'
