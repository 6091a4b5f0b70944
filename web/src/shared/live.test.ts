import { EventEmitter } from 'node:events'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { LiveConnection, parseLiveMessage, type LiveState } from './live'

/** Just enough of mqtt.js's client: events, subscribe with a callback, end. */
class FakeClient extends EventEmitter {
  subscribed: string[] = []
  ended = false
  constructor(readonly options: Record<string, unknown>) {
    super()
  }
  subscribe(topics: string[], _options: unknown, callback: (error: Error | null) => void): void {
    this.subscribed = topics
    callback(null)
  }
  end(): void {
    this.ended = true
  }
}

describe('LiveConnection', () => {
  let clients: FakeClient[]
  let states: LiveState[]
  let resyncs: number
  let tokens: number

  beforeEach(() => {
    vi.useFakeTimers()
    clients = []
    states = []
    resyncs = 0
    tokens = 0
  })
  afterEach(() => vi.useRealTimers())

  function start(): LiveConnection {
    const connection = new LiveConnection({
      url: 'ws://shop/mqtt',
      username: '',
      token: async () => `token-${++tokens}`,
      topics: ['serverlesspresso/shops/s/board'],
      onMessage: () => undefined,
      onState: (state) => states.push(state),
      onResync: () => {
        resyncs += 1
      },
      connect: ((_url: string, options: Record<string, unknown>) => {
        const client = new FakeClient(options)
        clients.push(client)
        return client
      }) as never,
      backoff: [100, 200],
    })
    connection.start()
    return connection
  }

  it('subscribes, then asks for a re-read, once connected', async () => {
    start()
    await vi.runOnlyPendingTimersAsync()
    clients[0]!.emit('connect')
    expect(clients[0]!.subscribed).toEqual(['serverlesspresso/shops/s/board'])
    expect(clients[0]!.options.password).toBe('token-1')
    expect(states).toEqual(['connecting', 'online'])
    expect(resyncs).toBe(1)
  })

  it('reconnects with a fresh token after a drop, says so meanwhile, and re-reads again', async () => {
    start()
    await vi.runOnlyPendingTimersAsync()
    clients[0]!.emit('connect')
    clients[0]!.emit('close')
    expect(states.at(-1)).toBe('reconnecting')
    await vi.advanceTimersByTimeAsync(100)
    expect(clients).toHaveLength(2)
    expect(clients[1]!.options.password).toBe('token-2')
    clients[1]!.emit('connect')
    expect(states.at(-1)).toBe('online')
    expect(resyncs).toBe(2)
  })

  it('backs off while the broker stays away', async () => {
    start()
    await vi.runOnlyPendingTimersAsync()
    clients[0]!.emit('close')
    await vi.advanceTimersByTimeAsync(100)
    clients[1]!.emit('close')
    await vi.advanceTimersByTimeAsync(150)
    expect(clients).toHaveLength(2) // the second wait is 200 ms
    await vi.advanceTimersByTimeAsync(50)
    expect(clients).toHaveLength(3)
  })

  it('stops for good when stopped', async () => {
    const connection = start()
    await vi.runOnlyPendingTimersAsync()
    connection.stop()
    expect(clients[0]!.ended).toBe(true)
    clients[0]!.emit('close')
    await vi.advanceTimersByTimeAsync(1000)
    expect(clients).toHaveLength(1)
  })
})

describe('parseLiveMessage', () => {
  it('reads our message shape and refuses anything else', () => {
    const good = new TextEncoder().encode('{"type":"X","at":"2026-12-02T10:00:00Z","detail":{"a":1}}')
    expect(parseLiveMessage(good)).toEqual({ type: 'X', at: '2026-12-02T10:00:00Z', detail: { a: 1 } })
    expect(parseLiveMessage('not json')).toBeNull()
    expect(parseLiveMessage('{"type":"X"}')).toBeNull()
  })
})
