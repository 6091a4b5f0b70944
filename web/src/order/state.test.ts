import { describe, expect, it } from 'vitest'
import type { LiveMessage } from '../shared/live'
import {
  applyEvent,
  canCancel,
  chooseDeadline,
  dailyLimitReached,
  mergeRead,
  screenFor,
  timeoutStage,
  type MyOrder,
} from './state'

const order = (changes: Partial<MyOrder> = {}): MyOrder => ({
  id: 'o1',
  shopId: 's',
  state: 'WAITING_FOR_DRINK',
  number: null,
  drink: null,
  modifiers: {},
  createdAt: '2026-12-02T10:00:00+00:00',
  queuedAt: null,
  readyAt: null,
  reason: null,
  at: '2026-12-02T10:00:00+00:00',
  ...changes,
})
const event = (type: string, at: string, detail: Record<string, unknown>): LiveMessage => ({
  type,
  at,
  detail: { orderId: 'o1', shopId: 's', ...detail },
})

describe('the order on the phone', () => {
  it('follows a whole journey from events', () => {
    let o = order()
    expect(screenFor(o)).toBe('choose')
    o = applyEvent(o, event('OrderManager.DrinkChosen', '2026-12-02T10:00:10Z', { state: 'QUEUED', drink: 'Latte', modifiers: { Milk: 'Oat' } }))
    expect(screenFor(o)).toBe('placing') // queued, but no number yet
    expect(o.queuedAt).toBe('2026-12-02T10:00:10Z')
    o = applyEvent(o, event('OrderManager.WaitingCompletion', '2026-12-02T10:00:11Z', { state: 'QUEUED', number: 7 }))
    expect([screenFor(o), o.number]).toEqual(['queued', 7])
    o = applyEvent(o, event('OrderManager.MakeOrder', '2026-12-02T10:01:00Z', { state: 'IN_PRODUCTION', number: 7 }))
    expect(screenFor(o)).toBe('making')
    o = applyEvent(o, event('OrderManager.OrderCompleted', '2026-12-02T10:02:00Z', { state: 'COMPLETED', number: 7 }))
    expect([screenFor(o), o.readyAt, o.drink, o.modifiers]).toEqual(['ready', '2026-12-02T10:02:00Z', 'Latte', { Milk: 'Oat' }])
  })

  it('takes the number from the workflow event even when it arrives late', () => {
    let o = applyEvent(order(), event('OrderManager.MakeOrder', '2026-12-02T10:01:00Z', { state: 'IN_PRODUCTION', drink: 'Latte' }))
    expect(screenFor(o)).toBe('placing')
    o = applyEvent(o, event('OrderProcessor.WaitingCompletion', '2026-12-02T10:00:30Z', { number: 9 }))
    expect([screenFor(o), o.number]).toEqual(['making', 9])
  })

  it('ignores events older than what it shows, and events of other orders', () => {
    let o = applyEvent(order(), event('OrderManager.MakeOrder', '2026-12-02T10:01:00Z', { state: 'IN_PRODUCTION', number: 3, drink: 'Latte' }))
    o = applyEvent(o, event('OrderManager.WaitingCompletion', '2026-12-02T10:00:30Z', { state: 'QUEUED', number: 3 }))
    expect(o.state).toBe('IN_PRODUCTION')
    const other = applyEvent(o, { type: 'OrderManager.OrderCancelled', at: '2026-12-02T11:00:00Z', detail: { orderId: 'o2', state: 'CANCELLED' } })
    expect(other).toBe(o)
  })

  it('never leaves a final state, whatever arrives later', () => {
    let o = applyEvent(order({ drink: 'Latte', number: 3, state: 'QUEUED' }), event('OrderManager.OrderCancelled', '2026-12-02T10:01:00Z', { state: 'CANCELLED', reason: 'Cancelled by the customer' }))
    o = applyEvent(o, event('OrderManager.MakeOrder', '2026-12-02T10:02:00Z', { state: 'IN_PRODUCTION' }))
    expect([screenFor(o), o.reason]).toEqual(['cancelled', 'Cancelled by the customer'])
  })

  it('reads workflow endings from their type', () => {
    const timedOut = applyEvent(order(), event('OrderProcessor.OrderTimeOut', '2026-12-02T10:05:00Z', { reason: 'You did not choose a drink in time', stage: 'customer' }))
    expect([screenFor(timedOut), timeoutStage(timedOut)]).toEqual(['timedOut', 'customer'])
    const late = applyEvent(order({ drink: 'Latte', number: 2, state: 'QUEUED' }), event('OrderProcessor.OrderTimeOut', '2026-12-02T10:20:00Z', { stage: 'barista' }))
    expect(timeoutStage(late)).toBe('barista')
    const rejected = applyEvent(order(), event('OrderProcessor.ShopUnavailable', '2026-12-02T10:00:01Z', { reason: 'closed' }))
    expect([screenFor(rejected), rejected.reason]).toEqual(['rejected', 'closed'])
  })

  it('lets the customer cancel until the order ends', () => {
    expect(canCancel(order())).toBe(true)
    expect(canCancel(order({ state: 'IN_PRODUCTION' }))).toBe(true)
    expect(canCancel(order({ state: 'COMPLETED' }))).toBe(false)
    expect(canCancel(order({ state: 'CANCELLED' }))).toBe(false)
  })

  it('counts the time to choose from when the order was placed', () => {
    expect(chooseDeadline(order(), 300)).toBe(Date.parse('2026-12-02T10:05:00Z'))
  })
})

describe('a fresh read after a reconnect', () => {
  it('wins when it is newer', () => {
    const known = order({ state: 'QUEUED', number: 4, drink: 'Latte' })
    const read = order({ state: 'COMPLETED', number: 4, drink: 'Latte', at: '2026-12-02T10:03:00Z' })
    expect(mergeRead(known, read).state).toBe('COMPLETED')
  })

  it('does not undo what newer events showed, but fills what they lacked', () => {
    const known = order({ state: 'COMPLETED', drink: 'Latte', at: '2026-12-02T10:03:00Z' })
    const read = order({ state: 'QUEUED', number: 4, drink: 'Latte', at: '2026-12-02T10:01:00Z' })
    expect([mergeRead(known, read).state, mergeRead(known, read).number]).toEqual(['COMPLETED', 4])
  })

  it('never reopens a finished order', () => {
    const known = order({ state: 'CANCELLED', at: '2026-12-02T10:01:00Z' })
    const read = order({ state: 'QUEUED', number: 4, drink: 'Latte', at: '2026-12-02T10:01:00Z' })
    expect(mergeRead(known, read).state).toBe('CANCELLED')
  })
})

describe('the daily limit, as the phone can tell it', () => {
  const now = Date.parse('2026-12-02T18:00:00Z')
  it('counts today’s orders that kept their slot', () => {
    const today = [order({ state: 'COMPLETED' }), order({ id: 'o2', state: 'CANCELLED' })]
    expect(dailyLimitReached(today, 1, now)).toBe(true)
    expect(dailyLimitReached(today, 2, now)).toBe(false)
  })
  it('gives the slot back for orders that ended without a drink, and forgets yesterday', () => {
    const orders = [
      order({ state: 'TIMED_OUT' }),
      order({ id: 'o2', state: 'REJECTED' }),
      order({ id: 'o3', state: 'COMPLETED', createdAt: '2026-12-01T23:59:59+00:00' }),
    ]
    expect(dailyLimitReached(orders, 1, now)).toBe(false)
  })
})
