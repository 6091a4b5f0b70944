// REST commands (the write side), typed; every refusal becomes an AppError with the API's code.
import { AppError, NETWORK } from './errors'

export interface CurrentCode {
  code: string
  validUntil: string
  remaining: number
  orderUrl: string
}

export interface MenuDrink {
  name: string
  available: boolean
  modifiers: { name: string; options: string[] }[]
}

export type ShopSettings = Record<
  | 'drinksPerCode'
  | 'codeIntervalSeconds'
  | 'maxOrdersInQueue'
  | 'maxOrdersPerCustomerPerDay'
  | 'customerTimeoutSeconds'
  | 'baristaTimeoutSeconds',
  number
>

export interface ShopJson {
  shopId: string
  name: string
  open: boolean
  menu: MenuDrink[]
  settings: ShopSettings
  version: number
}

export interface OrderJson {
  orderId: string
  shopId: string
  state: string
  drink: string | null
  modifiers: Record<string, string>
  number: number | null
  claimedBy: string | null
  reason: string | null
  createdAt: string
}

export type TokenSource = () => Promise<string>

export class Api {
  constructor(
    private readonly baseUrl: string,
    private readonly token: TokenSource,
    private readonly fetcher: typeof fetch = (...args) => fetch(...args),
  ) {}

  placeOrder(shopId: string, code: string): Promise<{ orderId: string; state: string }> {
    return this.call('POST', `/shops/${enc(shopId)}/orders`, { code })
  }

  /** The write model's view of an order: available the moment it is placed, before the read side has it. */
  getOrder(orderId: string): Promise<OrderJson> {
    return this.call('GET', `/orders/${enc(orderId)}`)
  }

  chooseDrink(orderId: string, drink: string, modifiers: Record<string, string>): Promise<OrderJson> {
    return this.call('PUT', `/orders/${enc(orderId)}/drink`, { drink, modifiers })
  }

  cancel(orderId: string): Promise<OrderJson> {
    return this.call('POST', `/orders/${enc(orderId)}/cancel`)
  }

  claim(orderId: string): Promise<OrderJson> {
    return this.call('POST', `/orders/${enc(orderId)}/claim`)
  }

  unclaim(orderId: string): Promise<OrderJson> {
    return this.call('POST', `/orders/${enc(orderId)}/unclaim`)
  }

  complete(orderId: string): Promise<OrderJson> {
    return this.call('POST', `/orders/${enc(orderId)}/complete`)
  }

  currentCode(shopId: string): Promise<CurrentCode> {
    return this.call('GET', `/shops/${enc(shopId)}/code`)
  }

  setStoreOpen(shopId: string, open: boolean): Promise<ShopJson> {
    return this.call('PUT', `/shops/${enc(shopId)}/store`, { open })
  }

  setMenu(shopId: string, drinks: MenuDrink[]): Promise<ShopJson> {
    return this.call('PUT', `/shops/${enc(shopId)}/menu`, { drinks })
  }

  updateSettings(shopId: string, changes: Partial<ShopSettings>): Promise<ShopJson> {
    return this.call('PATCH', `/shops/${enc(shopId)}/settings`, changes)
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { Authorization: `Bearer ${await this.token()}` }
    if (body !== undefined) headers['Content-Type'] = 'application/json'
    let response: Response
    try {
      response = await this.fetcher(`${this.baseUrl}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      })
    } catch (error) {
      throw new AppError(NETWORK, error instanceof Error ? error.message : 'the network request failed')
    }
    const payload = (await response.json().catch(() => null)) as { error?: { code: string; message: string } } | null
    if (!response.ok) {
      const error = payload?.error
      throw new AppError(error?.code ?? `http_${response.status}`, error?.message ?? response.statusText, response.status)
    }
    return payload as T
  }
}

const enc = encodeURIComponent
