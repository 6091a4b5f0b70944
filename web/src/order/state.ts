// The customer's order on the phone: built from GraphQL, kept current by the events on their own topic.
import type { OrderFieldsFragment, OrderState } from '../shared/generated/graphql'
import type { LiveMessage } from '../shared/live'
import { isFinal, stateOfEvent } from '../shared/orderStates'

export interface MyOrder {
  id: string
  shopId: string
  state: OrderState
  number: number | null
  drink: string | null
  modifiers: Record<string, string>
  createdAt: string
  queuedAt: string | null
  readyAt: string | null
  reason: string | null
  /** Time of the newest change applied, so an older event cannot undo a newer one. */
  at: string
}

export function isOpen(order: Pick<MyOrder, 'state'>): boolean {
  return !isFinal(order.state)
}

function modifiersOf(value: unknown): Record<string, string> {
  if (typeof value !== 'object' || value === null) return {}
  return Object.fromEntries(Object.entries(value).filter((entry): entry is [string, string] => typeof entry[1] === 'string'))
}

export function fromNode(node: OrderFieldsFragment): MyOrder {
  return {
    id: node.id,
    shopId: node.shopId,
    state: node.state,
    number: node.number,
    drink: node.drink,
    modifiers: modifiersOf(node.modifiers),
    createdAt: node.createdAt,
    queuedAt: node.queuedAt,
    readyAt: node.readyAt,
    reason: node.reason,
    at: node.updatedAt,
  }
}

/** A fresh read of the order (after a reconnect): it wins unless events already showed something newer. */
export function mergeRead(known: MyOrder | null, read: MyOrder): MyOrder {
  if (!known || known.id !== read.id) return read
  const readIsNewer = read.at >= known.at && !(isFinal(known.state) && !isFinal(read.state))
  const [base, other] = readIsNewer ? [read, known] : [known, read]
  return {
    ...base,
    number: base.number ?? other.number,
    ...(base.drink ? {} : { drink: other.drink, modifiers: other.modifiers }),
    queuedAt: base.queuedAt ?? other.queuedAt,
    readyAt: base.readyAt ?? other.readyAt,
  }
}

/** One message from the customer's topic; messages about other orders leave it unchanged. */
export function applyEvent(order: MyOrder, message: LiveMessage): MyOrder {
  const detail = message.detail
  if (detail.orderId !== order.id) return order
  const number = typeof detail.number === 'number' ? detail.number : order.number
  // A number is a fact whenever it arrives; it never changes once given.
  let next: MyOrder = { ...order, number: order.number ?? number }
  if (message.at && message.at < order.at) return next
  if (isFinal(order.state)) return next
  const state = stateOfEvent(message.type, detail.state)
  if (state === null) return next
  next = { ...next, state, at: message.at || order.at }
  if (typeof detail.drink === 'string') next = { ...next, drink: detail.drink, modifiers: modifiersOf(detail.modifiers) }
  if (message.type === 'OrderManager.DrinkChosen') next = { ...next, queuedAt: next.queuedAt ?? message.at }
  if (state === 'COMPLETED') next = { ...next, readyAt: next.readyAt ?? message.at }
  if (typeof detail.reason === 'string') next = { ...next, reason: detail.reason }
  return next
}

export type OrderScreen = 'choose' | 'placing' | 'queued' | 'making' | 'ready' | 'cancelled' | 'timedOut' | 'rejected'

/** What the phone shows for the order; an order is "placing" between the drink choice and its number. */
export function screenFor(order: MyOrder): OrderScreen {
  switch (order.state) {
    case 'WAITING_FOR_DRINK':
      return order.drink ? 'placing' : 'choose'
    case 'QUEUED':
      return order.number === null ? 'placing' : 'queued'
    case 'IN_PRODUCTION':
      return order.number === null ? 'placing' : 'making'
    case 'COMPLETED':
      return 'ready'
    case 'CANCELLED':
      return 'cancelled'
    case 'TIMED_OUT':
      return 'timedOut'
    case 'REJECTED':
      return 'rejected'
  }
}

export function canCancel(order: MyOrder): boolean {
  return order.state === 'WAITING_FOR_DRINK' || order.state === 'QUEUED' || order.state === 'IN_PRODUCTION'
}

/** Timed out while choosing (no drink yet) or while the baristas had it. */
export function timeoutStage(order: MyOrder): 'customer' | 'barista' {
  return order.drink ? 'barista' : 'customer'
}

/** When the customer's time to choose runs out (the workflow waits `customerTimeoutSeconds` from the start). */
export function chooseDeadline(order: MyOrder, customerTimeoutSeconds: number): number {
  return Date.parse(order.createdAt) + customerTimeoutSeconds * 1000
}

/** The UTC day of an ISO time: the API's per-customer day. */
export function utcDay(iso: string): string {
  return new Date(Date.parse(iso)).toISOString().slice(0, 10)
}

/**
 * Whether the daily limit is already used up, from the customer's own orders: orders of today that did
 * not end without a drink count (cancelled, timed-out and rejected ones give their slot back).
 */
export function dailyLimitReached(orders: readonly MyOrder[], limit: number, nowMs: number): boolean {
  const today = new Date(nowMs).toISOString().slice(0, 10)
  const counted = orders.filter(
    (o) => utcDay(o.createdAt) === today && !['CANCELLED', 'TIMED_OUT', 'REJECTED'].includes(o.state),
  )
  return counted.length >= limit
}
