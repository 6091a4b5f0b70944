import { describe, expect, it } from 'vitest'
import { newestShop, shopFromConfig } from './shop'

const settings = {
  drinksPerCode: 10,
  codeIntervalSeconds: 300,
  maxOrdersInQueue: 20,
  maxOrdersPerCustomerPerDay: 1,
  customerTimeoutSeconds: 300,
  baristaTimeoutSeconds: 900,
}
const message = (version: number, open: boolean) => ({
  type: 'ConfigService.ConfigChanged',
  at: '2026-12-02T10:00:00Z',
  detail: { shopId: 'bar', version, shop: { shopId: 'bar', name: 'Bar', open, menu: [], settings, version } },
})

describe('shop views', () => {
  it('reads the whole shop from a ConfigChanged message', () => {
    expect(shopFromConfig(message(3, true))).toEqual({ id: 'bar', name: 'Bar', open: true, version: 3, menu: [], settings })
  })

  it('rejects messages without a shop', () => {
    expect(shopFromConfig({ type: 'X', at: '', detail: { shopId: 'bar' } })).toBeNull()
  })

  it('keeps the newest version whatever the arrival order', () => {
    const v3 = shopFromConfig(message(3, true))
    const v2 = shopFromConfig(message(2, false))
    expect(newestShop(v3, v2)).toBe(v3)
    expect(newestShop(v2, v3)).toBe(v3)
    expect(newestShop(null, v2)).toBe(v2)
    expect(newestShop(v3, null)).toBe(v3)
  })
})
