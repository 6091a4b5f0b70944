// Live state over MQTT (mqtt.js over WebSockets): the ID token is the password, the connection
// re-subscribes and asks its owner to re-query after every (re)connect, so no change is missed.
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt'

export const TOPIC_ROOT = 'serverlesspresso'
export const topics = {
  config: (shopId: string) => `${TOPIC_ROOT}/shops/${shopId}/config`,
  board: (shopId: string) => `${TOPIC_ROOT}/shops/${shopId}/board`,
  admin: (shopId: string) => `${TOPIC_ROOT}/shops/${shopId}/admin`,
  user: (sub: string) => `${TOPIC_ROOT}/users/${sub}`,
}

export type LiveState = 'connecting' | 'online' | 'reconnecting'

/** Every message on our topics: `{"type": <detail-type>, "at": <ISO time>, "detail": {...}}`. */
export interface LiveMessage {
  type: string
  at: string
  detail: Record<string, unknown>
}

export interface LiveOptions {
  url: string
  username: string
  token: () => Promise<string>
  topics: string[]
  onMessage: (topic: string, message: LiveMessage) => void
  onState: (state: LiveState) => void
  /** Called once subscriptions are active after each (re)connect: re-read what may have been missed. */
  onResync: () => void
  connect?: (url: string, options: IClientOptions) => MqttClient
  /** Reconnect delays in ms (the last one repeats). */
  backoff?: number[]
}

const DEFAULT_BACKOFF = [500, 1000, 2000, 4000, 8000]

export function parseLiveMessage(payload: Uint8Array | string): LiveMessage | null {
  try {
    const text = typeof payload === 'string' ? payload : new TextDecoder().decode(payload)
    const value = JSON.parse(text) as Partial<LiveMessage>
    if (typeof value.type !== 'string' || typeof value.detail !== 'object' || value.detail === null) return null
    return { type: value.type, at: typeof value.at === 'string' ? value.at : '', detail: value.detail }
  } catch {
    return null
  }
}

export class LiveConnection {
  private client: MqttClient | null = null
  private attempt = 0
  private timer: ReturnType<typeof setTimeout> | null = null
  private stopped = false

  constructor(private readonly options: LiveOptions) {}

  start(): void {
    this.stopped = false
    this.options.onState('connecting')
    void this.open()
  }

  stop(): void {
    this.stopped = true
    if (this.timer) clearTimeout(this.timer)
    this.client?.end(true)
    this.client = null
  }

  private async open(): Promise<void> {
    let password: string
    try {
      password = await this.options.token() // fresh each time: an expired token is refused at CONNECT
    } catch {
      this.scheduleReconnect()
      return
    }
    if (this.stopped) return
    const connect = this.options.connect ?? mqtt.connect
    const client = connect(this.options.url, {
      username: this.options.username,
      password,
      protocolVersion: 4,
      clean: true,
      keepalive: 30,
      connectTimeout: 10_000,
      reconnectPeriod: 0, // we reconnect ourselves, with a fresh token
      resubscribe: false,
      clientId: `sp-web-${Math.random().toString(36).slice(2, 12)}`,
    })
    this.client = client
    client.on('connect', () => {
      client.subscribe(this.options.topics, { qos: 1 }, (error) => {
        if (error || this.stopped || client !== this.client) {
          if (!this.stopped) client.end(true)
          return
        }
        this.attempt = 0
        this.options.onState('online')
        this.options.onResync()
      })
    })
    client.on('message', (topic, payload) => {
      const message = parseLiveMessage(payload)
      if (message) this.options.onMessage(topic, message)
    })
    client.on('close', () => {
      if (client !== this.client || this.stopped) return
      this.client = null
      client.end(true)
      this.options.onState('reconnecting')
      this.scheduleReconnect()
    })
    client.on('error', () => {
      // 'close' follows every error that ends the connection; the reconnect happens there.
    })
  }

  private scheduleReconnect(): void {
    if (this.stopped) return
    const backoff = this.options.backoff ?? DEFAULT_BACKOFF
    const delay = backoff[Math.min(this.attempt, backoff.length - 1)] ?? 1000
    this.attempt += 1
    this.timer = setTimeout(() => void this.open(), delay)
  }
}
