// The order rules: events in any order and any number of times, reads merged with events, the columns and ages.
import { describe, expect, it } from 'vitest'
import type { OrderFieldsFragment } from '../shared/generated/graphql'
import type { LiveMessage } from '../shared/live'
import {
  applyCommandResult,
  applyMessage,
  columns,
  emptyOrders,
  formatDuration,
  formatWait,
  mergeNodes,
  modifiersText,
  reload,
  type OrdersState,
} from './orders'

const SHOP = 'default'
const ME = 'barista-me'
const T0 = Date.parse('2026-12-02T10:00:00Z')
const at = (seconds: number, z = false) => {
  const iso = new Date(T0 + seconds * 1000).toISOString()
  return z ? iso : iso.replace('Z', '+00:00')
}

function event(type: string, seconds: number, detail: Record<string, unknown>, orderId = 'o1'): LiveMessage {
  return { type, at: at(seconds), detail: { orderId, shopId: SHOP, userId: 'alice', at: at(seconds), ...detail } }
}

const drinkChosen = (s: number, id = 'o1') =>
  event('OrderManager.DrinkChosen', s, { state: 'QUEUED', drink: 'Latte', modifiers: { Milk: 'Oat', Sugar: 'None' } }, id)
const numbered = (s: number, number: number, id = 'o1') =>
  event('OrderManager.WaitingCompletion', s, { state: 'QUEUED', number, drink: 'Latte', modifiers: { Milk: 'Oat' } }, id)
const claimed = (s: number, number: number, by = ME, id = 'o1') =>
  event('OrderManager.MakeOrder', s, { state: 'IN_PRODUCTION', number, drink: 'Latte', claimedBy: by }, id)
const unclaimed = (s: number, number: number, id = 'o1') => event('OrderManager.OrderUnclaimed', s, { state: 'QUEUED', number }, id)
const completed = (s: number, number: number, id = 'o1') =>
  event('OrderManager.OrderCompleted', s, { state: 'COMPLETED', number, drink: 'Latte', claimedBy: ME }, id)
const cancelled = (s: number, number: number, id = 'o1') =>
  event('OrderManager.OrderCancelled', s, { state: 'CANCELLED', number, reason: 'by barista', cancelledBy: ME }, id)

function feed(...messages: LiveMessage[]): OrdersState {
  return messages.reduce((state, message) => applyMessage(state, message).state, emptyOrders(SHOP))
}

function node(id: string, fields: Partial<OrderFieldsFragment>): OrderFieldsFragment {
  return {
    id,
    shopId: SHOP,
    number: null,
    state: 'QUEUED',
    drink: 'Americano',
    modifiers: { Milk: 'None' },
    createdAt: at(0),
    updatedAt: at(0),
    queuedAt: at(5),
    readyAt: null,
    claimedBy: null,
    reason: null,
    ...fields,
  }
}

const view = (state: OrdersState, seconds = 30, timeout = 900) => {
  const c = columns(state, T0 + seconds * 1000, ME, timeout)
  return {
    queued: c.queued.map((card) => card.order.number),
    inProduction: c.inProduction.map((card) => card.order.number),
    ready: c.ready.map((card) => card.order.number),
  }
}

describe('live events', () => {
  it('shows an order in Queued only once it has a number', () => {
    let state = feed(event('Validator.NewOrder', 0, { state: 'WAITING_FOR_DRINK', createdAt: at(0) }), drinkChosen(10))
    expect(state.orders.o1?.state).toBe('QUEUED')
    expect(view(state).queued).toEqual([])
    state = applyMessage(state, numbered(11, 7)).state
    expect(view(state).queued).toEqual([7])
    expect(state.orders.o1?.queuedAt).toBe(at(10))
    expect(state.orders.o1?.createdAt).toBe(at(0))
  })

  it('reports a new order once, when it first appears in Queued', () => {
    let state = feed(drinkChosen(10))
    const first = applyMessage(state, numbered(11, 7))
    expect(first.newOrder?.number).toBe(7)
    state = first.state
    expect(applyMessage(state, numbered(11, 7)).newOrder).toBeNull() // redelivered
    state = applyMessage(state, claimed(20, 7)).state
    expect(applyMessage(state, unclaimed(30, 7)).newOrder).toBeNull() // back in the queue, not new
  })

  it('numbers an order from the workflow event, which carries no state, even before DrinkChosen arrives', () => {
    const workflow = event('OrderProcessor.WaitingCompletion', 11, { number: 3, timeoutSeconds: 900 }, 'o1')
    let applied = applyMessage(emptyOrders(SHOP), workflow)
    expect(applied.state.orders.o1?.state).toBe('QUEUED')
    expect(applied.newOrder?.number).toBe(3)
    // The late DrinkChosen is older: it fills in the drink and when it was chosen, but moves nothing.
    applied = applyMessage(applied.state, drinkChosen(10))
    expect(applied.state.orders.o1).toMatchObject({ state: 'QUEUED', number: 3, drink: 'Latte', queuedAt: at(10) })
    expect(applied.newOrder).toBeNull()
  })

  it('applies a duplicated event once', () => {
    const once = feed(drinkChosen(10), numbered(11, 7), claimed(20, 7))
    const twice = feed(drinkChosen(10), numbered(11, 7), claimed(20, 7), claimed(20, 7), numbered(11, 7))
    expect(view(twice)).toEqual(view(once))
    expect(twice.orders.o1?.claimedBy).toBe(ME)
  })

  it('ignores an event older than what is known for the order', () => {
    const state = feed(numbered(11, 7), claimed(20, 7), unclaimed(30, 7), claimed(25, 7, 'someone-else'))
    expect(view(state)).toEqual({ queued: [7], inProduction: [], ready: [] })
    expect(state.orders.o1?.claimedBy).toBeNull()
  })

  it('compares times as instants, whatever their UTC spelling', () => {
    const z = { ...unclaimed(30, 7), at: at(30, true) } // Step Functions writes "Z", Python "+00:00"
    const state = feed(numbered(11, 7), claimed(20, 7), z)
    expect(state.orders.o1?.state).toBe('QUEUED')
  })

  it('never leaves a final state, whatever arrives after it', () => {
    const state = feed(numbered(11, 7), cancelled(20, 7), claimed(30, 7), unclaimed(40, 7), completed(50, 7))
    expect(state.orders.o1?.state).toBe('CANCELLED')
    expect(view(state, 55)).toEqual({ queued: [], inProduction: [], ready: [] })
  })

  it('lets an ending win even when it is delivered after a newer event, as the read side folds them', () => {
    const state = feed(numbered(11, 7), claimed(30, 7), cancelled(20, 7))
    expect(state.orders.o1?.state).toBe('CANCELLED')
  })

  it('treats the workflow’s time-out and shop-unavailable events as TIMED_OUT and REJECTED', () => {
    const timedOut = feed(numbered(11, 7), event('OrderProcessor.OrderTimeOut', 900, { reason: 'baristas', stage: 'barista' }))
    expect(timedOut.orders.o1).toMatchObject({ state: 'TIMED_OUT', reason: 'baristas' })
    const rejected = feed(event('OrderProcessor.ShopUnavailable', 1, { reason: 'closed' }, 'o2'))
    expect(rejected.orders.o2).toMatchObject({ state: 'REJECTED', reason: 'closed' })
  })

  it('ignores events for another shop and events without an order', () => {
    const other = { ...numbered(11, 7), detail: { ...numbered(11, 7).detail, shopId: 'elsewhere' } }
    expect(feed(other).orders).toEqual({})
    expect(feed({ type: 'X', at: at(1), detail: { shopId: SHOP } }).orders).toEqual({})
  })

  it('moves a card through the columns and out of Ready 60 s after readyAt', () => {
    let state = feed(drinkChosen(10), numbered(11, 7))
    expect(view(state)).toEqual({ queued: [7], inProduction: [], ready: [] })
    state = applyMessage(state, claimed(20, 7)).state
    expect(view(state)).toEqual({ queued: [], inProduction: [7], ready: [] })
    state = applyMessage(state, completed(100, 7)).state
    expect(state.orders.o1?.readyAt).toBe(at(100))
    expect(view(state, 159)).toEqual({ queued: [], inProduction: [], ready: [7] })
    expect(view(state, 160)).toEqual({ queued: [], inProduction: [], ready: [] })
  })

  it('lets a late event fill in facts of an ended order without moving it', () => {
    let state = feed(event('OrderProcessor.OrderTimeOut', 900, { reason: 'late' }))
    state = applyMessage(state, numbered(11, 7)).state
    expect(state.orders.o1).toMatchObject({ state: 'TIMED_OUT', number: 7, drink: 'Latte' })
    expect(view(state, 901)).toEqual({ queued: [], inProduction: [], ready: [] })
  })
})

describe('columns', () => {
  it('sorts each column by number', () => {
    const state = feed(numbered(1, 12, 'a'), numbered(2, 3, 'b'), numbered(3, 8, 'c'), claimed(4, 9, ME, 'd'), claimed(5, 2, ME, 'e'))
    expect(view(state)).toEqual({ queued: [3, 8, 12], inProduction: [2, 9], ready: [] })
  })

  it('tells my orders from another barista’s', () => {
    const state = feed(claimed(4, 9, ME, 'a'), claimed(5, 2, 'someone-else', 'b'))
    const cards = columns(state, T0 + 10_000, ME, 900).inProduction
    expect(cards.map((c) => [c.order.number, c.mine, c.byOther])).toEqual([
      [2, false, true],
      [9, true, false],
    ])
    const unknown = mergeNodes(emptyOrders(SHOP), [node('c', { number: 4, state: 'IN_PRODUCTION', claimedBy: null })])
    expect(columns(unknown, T0, ME, 900).inProduction[0]).toMatchObject({ mine: false, byOther: false })
  })

  it('ages an order from when its drink was chosen, else when it was placed, on the shop’s timeout scale', () => {
    const state = mergeNodes(emptyOrders(SHOP), [
      node('a', { number: 1, queuedAt: at(0) }),
      node('b', { number: 2, queuedAt: null, createdAt: at(0) }),
    ])
    const at130 = columns(state, T0 + 130_000, ME, 900).queued
    expect(at130.map((c) => [c.ageSeconds, c.level])).toEqual([
      [130, 'waiting'],
      [130, 'waiting'],
    ])
    expect(columns(state, T0 + 50_000, ME, 150).queued[0]?.level).toBe('late') // 1/3 of 150 s
    expect(columns(state, T0 + 10_000, ME, 900).queued[0]?.level).toBe('fresh')
  })
})

describe('GraphQL reads', () => {
  it('takes a newer read over older events', () => {
    let state = feed(numbered(11, 7))
    state = mergeNodes(state, [node('o1', { number: 7, state: 'IN_PRODUCTION', claimedBy: ME, updatedAt: at(20) })])
    expect(view(state)).toEqual({ queued: [], inProduction: [7], ready: [] })
  })

  it('keeps events newer than a read (the read side is a few milliseconds behind)', () => {
    let state = feed(numbered(11, 7), claimed(20, 7))
    state = mergeNodes(state, [node('o1', { number: 7, state: 'QUEUED', updatedAt: at(11) })])
    expect(state.orders.o1).toMatchObject({ state: 'IN_PRODUCTION', claimedBy: ME })
    // …but fills in what the events did not carry.
    expect(state.orders.o1?.queuedAt).toBe(at(5))
  })

  it('ignores orders of another shop', () => {
    expect(mergeNodes(emptyOrders(SHOP), [{ ...node('x', { number: 1 }), shopId: 'elsewhere' }]).orders).toEqual({})
  })

  it('a re-read drops orders that ended while we were not listening, not those an event touched since', () => {
    let state = feed(numbered(1, 1, 'gone'), numbered(2, 2, 'stays'))
    const sinceSeq = state.seq
    state = applyMessage(state, numbered(3, 3, 'new')).state // arrived while the reads ran
    state = reload(state, {
      active: [node('stays', { number: 2, updatedAt: at(2) })],
      completed: [],
      sinceSeq,
      nowMs: T0 + 10_000,
    })
    expect(view(state)).toEqual({ queued: [2, 3], inProduction: [], ready: [] })
  })

  it('a re-read shows recently completed orders, and forgets long-ended ones', () => {
    let state = feed(cancelled(0, 1, 'old'))
    state = reload(state, {
      active: [],
      completed: [
        node('r1', { number: 4, state: 'COMPLETED', readyAt: at(1000), updatedAt: at(1000) }),
        node('r2', { number: 5, state: 'COMPLETED', readyAt: at(900), updatedAt: at(900) }),
      ],
      sinceSeq: state.seq,
      nowMs: T0 + 1030_000,
    })
    expect(view(state, 1030)).toEqual({ queued: [], inProduction: [], ready: [4] })
    expect(state.orders.old).toBeUndefined()
  })

  it('a read cannot bring an ended order back', () => {
    let state = feed(numbered(1, 1), completed(50, 1))
    state = mergeNodes(state, [node('o1', { number: 1, state: 'IN_PRODUCTION', updatedAt: at(60) })])
    expect(state.orders.o1?.state).toBe('COMPLETED')
  })
})

describe('command replies', () => {
  const reply = (state: string, claimedBy: string | null = null) => ({
    orderId: 'o1',
    shopId: SHOP,
    state,
    drink: 'Latte',
    modifiers: {},
    number: 7,
    claimedBy,
    reason: null,
    createdAt: at(0),
  })

  it('moves the card at once, and the event that follows still applies', () => {
    let state = feed(numbered(11, 7))
    state = applyCommandResult(state, reply('IN_PRODUCTION', ME), T0 + 20_000)
    expect(view(state)).toEqual({ queued: [], inProduction: [7], ready: [] })
    state = applyMessage(state, claimed(20, 7)).state
    state = applyMessage(state, unclaimed(25, 7)).state
    expect(view(state)).toEqual({ queued: [7], inProduction: [], ready: [] })
  })

  it('guesses readyAt after Complete until the completion event gives the real time', () => {
    let state = feed(numbered(11, 7), claimed(20, 7))
    state = applyCommandResult(state, reply('COMPLETED', ME), T0 + 31_000)
    expect(view(state, 31)).toEqual({ queued: [], inProduction: [], ready: [7] })
    state = applyMessage(state, completed(30, 7)).state
    expect(state.orders.o1).toMatchObject({ readyAt: at(30), readyAtGuessed: false })
  })
})

describe('formatting', () => {
  it('joins modifiers, leaving out "None"', () => {
    expect(modifiersText({ Milk: 'Oat', Size: 'Large' })).toBe('Oat · Large')
    expect(modifiersText({ Milk: 'None' })).toBe('')
  })

  it('formats durations and the average wait as m:ss, or a dash before the first drink', () => {
    expect(formatDuration(130)).toBe('2:10')
    expect(formatDuration(5)).toBe('0:05')
    expect(formatWait(184.6)).toBe('3:05')
    expect(formatWait(null)).toBe('–')
  })
})
