// The shop edits: whole-menu availability changes, settings diffs and bounds, drafts that follow other tablets.
import { describe, expect, it } from 'vitest'
import type { ShopSettings } from '../shared/api'
import { newestShop } from '../shared/shop'
import {
  draftOf,
  fromReply,
  rebaseDraft,
  settingInMessage,
  settingsChanges,
  withAvailability,
} from './shop'

const settings: ShopSettings = {
  drinksPerCode: 10,
  codeIntervalSeconds: 300,
  maxOrdersInQueue: 20,
  maxOrdersPerCustomerPerDay: 1,
  customerTimeoutSeconds: 300,
  baristaTimeoutSeconds: 900,
}
const menu = [
  { name: 'Espresso', available: true, modifiers: [] },
  { name: 'Latte', available: false, modifiers: [{ name: 'Milk', options: ['Regular', 'Oat'] }] },
]
const shopJson = (version: number, open = true) => ({ shopId: 'default', name: 'Bar', open, menu, settings, version })

describe('shop replies', () => {
  it('become shop views that compete by version with reads and the config topic', () => {
    const closed = fromReply(shopJson(2, false))
    expect(closed).toEqual({ id: 'default', name: 'Bar', open: false, version: 2, menu, settings })
    expect(newestShop(closed, fromReply(shopJson(1, true)))?.open).toBe(false) // a slow reply does not undo
    expect(newestShop(fromReply(shopJson(1, true)), closed)?.open).toBe(false)
  })
})

describe('menu', () => {
  it('sends the whole menu with only one drink’s availability changed', () => {
    const next = withAvailability(menu, 'Latte', true)
    expect(next).toEqual([menu[0], { ...menu[1], available: true }])
    expect(menu[1]?.available).toBe(false) // the shop shown is untouched until the API agrees
  })
})

describe('settings', () => {
  it('sends only the fields that changed', () => {
    const draft = { ...draftOf(settings), maxOrdersInQueue: '30', baristaTimeoutSeconds: 600 }
    expect(settingsChanges(settings, draft)).toEqual({ changes: { maxOrdersInQueue: 30, baristaTimeoutSeconds: 600 }, problems: {} })
    expect(settingsChanges(settings, draftOf(settings)).changes).toEqual({})
  })

  it('refuses empty, fractional and out-of-bounds values, as the API would', () => {
    const draft = { ...draftOf(settings), drinksPerCode: '', codeIntervalSeconds: '9', maxOrdersInQueue: '2.5', customerTimeoutSeconds: '86401' }
    const { changes, problems } = settingsChanges(settings, draft)
    expect(problems).toEqual({ drinksPerCode: 'range', codeIntervalSeconds: 'range', maxOrdersInQueue: 'range', customerTimeoutSeconds: 'range' })
    expect(changes).toEqual({})
    expect(settingsChanges(settings, { ...draftOf(settings), codeIntervalSeconds: '10' }).problems).toEqual({})
  })

  it('lets untouched fields follow a change saved elsewhere, keeping what is being typed', () => {
    const draft = { ...draftOf(settings), drinksPerCode: '12' }
    const after = { ...settings, drinksPerCode: 15, maxOrdersInQueue: 40 }
    expect(rebaseDraft(draft, settings, after)).toMatchObject({ drinksPerCode: '12', maxOrdersInQueue: '40' })
  })

  it('finds the setting an API validation message is about', () => {
    expect(settingInMessage('baristaTimeoutSeconds must be an integer from 1 to 86400')).toBe('baristaTimeoutSeconds')
    expect(settingInMessage('unknown setting(s): colour')).toBeNull()
  })
})

