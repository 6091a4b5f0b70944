// The barista's orders: one map fed by GraphQL reads, live events and command replies, and the three columns derived from it.
import type { OrderJson } from '../shared/api'
import type { OrderFieldsFragment, OrderState } from '../shared/generated/graphql'
import type { LiveMessage } from '../shared/live'
import { isFinal, isOrderState, stateOfEvent } from '../shared/orderStates'
import { ageLevel, secondsSince, type AgeLevel } from '../shared/time'

/** A ready card stays this long after `readyAt`, long enough for the customer to see their number called. */
export const READY_SHOWN_MS = 60_000
/** Ended orders are kept this long so a late event cannot bring them back; after that they are forgotten. */
export const FORGET_ENDED_MS = 15 * 60_000

const PROCESSOR_NUMBERED = 'OrderProcessor.WaitingCompletion'
const DRINK_CHOSEN = 'OrderManager.DrinkChosen'
const NEW_ORDER = 'Validator.NewOrder'
export const ORDER_COMPLETED = 'OrderManager.OrderCompleted'

export interface Order {
  id: string
  shopId: string
  number: number | null
  state: OrderState
  drink: string | null
  modifiers: Record<string, string>
  createdAt: string | null
  queuedAt: string | null
  readyAt: string | null
  /** readyAt guessed from this device's clock after our own Complete, until the completion event says when. */
  readyAtGuessed: boolean
  claimedBy: string | null
  reason: string | null
  /** When the newest change applied to this order happened: older news may fill gaps but not move the order. */
  at: string
  /** The live sequence when an event last touched this order (0: only known from reads). */
  seq: number
}

export interface OrdersState {
  shopId: string
  orders: Record<string, Order>
  /** Counts applied live events, so a re-read can tell which orders the live topic kept current meanwhile. */
  seq: number
}

export const emptyOrders = (shopId: string): OrdersState => ({ shopId, orders: {}, seq: 0 })

export { isFinal }

/** Seen in Queued: numbered and waiting (the read side never shows QUEUED without a number; events may). */
export const isQueuedCard = (order: Order | undefined): boolean => order?.state === 'QUEUED' && order.number !== null

function time(iso: string | null | undefined): number {
  const ms = iso ? Date.parse(iso) : NaN
  return Number.isNaN(ms) ? -Infinity : ms
}

// `at` strings mix "+00:00" (Python) and "Z" (Step Functions): compare instants, not text.
const notOlder = (at: string, known: string): boolean => time(at) >= time(known)
const later = (a: string, b: string): string => (time(a) >= time(b) ? a : b)
const earlier = (a: string | null, b: string | null): string | null => (a === null ? b : b === null ? a : time(a) <= time(b) ? a : b)

function text(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null
}

function orderNumber(value: unknown): number | null {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : null
}

/** A modifier choice as the API gives it (GraphQL JSON or event detail): group name → option. */
export function modifierChoice(value: unknown): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return {}
  return Object.fromEntries(Object.entries(value).filter((entry): entry is [string, string] => typeof entry[1] === 'string'))
}

/** "Oat · Large": the chosen options, leaving out "None" (no milk is not worth a word on a busy bar). */
export function modifiersText(modifiers: Record<string, string>): string {
  return Object.values(modifiers)
    .filter((option) => option !== 'None')
    .join(' · ')
}

function blank(id: string, shopId: string): Order {
  return {
    id,
    shopId,
    number: null,
    state: 'WAITING_FOR_DRINK',
    drink: null,
    modifiers: {},
    createdAt: null,
    queuedAt: null,
    readyAt: null,
    readyAtGuessed: false,
    claimedBy: null,
    reason: null,
    at: '',
    seq: 0,
  }
}

function put(state: OrdersState, order: Order, seq = state.seq): OrdersState {
  return { ...state, seq, orders: { ...state.orders, [order.id]: order } }
}

export interface Applied {
  state: OrdersState
  /** The order that has just appeared in Queued (for the chime and the announcement), if any. */
  newOrder: Order | null
}

/** One message from the shop's admin topic: every order event, in full, in whatever order the bus delivered it. */
export function applyMessage(state: OrdersState, message: LiveMessage): Applied {
  const unchanged = { state, newOrder: null }
  const d = message.detail
  const id = text(d.orderId)
  if (!id || d.shopId !== state.shopId) return unchanged
  const at = message.at || text(d.at) || ''
  const before = state.orders[id] ?? blank(id, state.shopId)

  // Facts that never change once set are taken from any event, even a late one.
  const order: Order = { ...before }
  order.number = before.number ?? orderNumber(d.number)
  if (message.type === NEW_ORDER) order.createdAt = text(d.createdAt) ?? before.createdAt ?? at
  order.createdAt ??= at || null
  if (message.type === DRINK_CHOSEN) order.queuedAt = earlier(before.queuedAt, text(at))
  if (message.type === ORDER_COMPLETED && at && (before.readyAt === null || before.readyAtGuessed)) {
    order.readyAt = at
    order.readyAtGuessed = false
  }
  const drink = text(d.drink)
  const fresh = notOlder(at, before.at)
  if (drink && (fresh || !before.drink)) {
    order.drink = drink
    order.modifiers = modifierChoice(d.modifiers)
  }

  const next = nextState(message.type, d.state, before.state)
  // A final state is never left; reaching one wins even when its event is older, as the read side's
  // fold (events sorted by time, final states sticky) would decide, so a re-read agrees with us.
  if (next && !isFinal(before.state) && (fresh || isFinal(next))) {
    order.state = next
    order.claimedBy =
      next === 'IN_PRODUCTION' || next === 'COMPLETED' ? (text(d.claimedBy) ?? before.claimedBy) : null
    order.reason = text(d.reason) ?? (isFinal(next) ? before.reason : null)
    order.at = later(at, before.at)
  }
  order.seq = state.seq + 1
  // Unclaimed orders come back to Queued too: only a first number makes an order new.
  const newOrder = before.number === null && isQueuedCard(order) ? order : null
  return { state: put(state, order, state.seq + 1), newOrder }
}

function nextState(type: string, detailState: unknown, current: OrderState): OrderState | null {
  // The workflow numbers an order only once its drink is chosen, even if DrinkChosen is still on its way.
  if (type === PROCESSOR_NUMBERED) return current === 'WAITING_FOR_DRINK' ? 'QUEUED' : null
  return stateOfEvent(type, detailState)
}

/** Orders from a GraphQL read (the read side's fold): newer than what events told us, or filling its gaps. */
export function mergeNodes(state: OrdersState, nodes: readonly OrderFieldsFragment[]): OrdersState {
  let next = state
  for (const node of nodes) {
    if (node.shopId !== state.shopId) continue
    const known = next.orders[node.id]
    const before = known ?? blank(node.id, state.shopId)
    const order: Order = {
      ...before,
      number: before.number ?? node.number,
      createdAt: node.createdAt || before.createdAt,
      queuedAt: node.queuedAt ?? before.queuedAt,
      drink: before.drink ?? node.drink,
      modifiers: before.drink ? before.modifiers : modifierChoice(node.modifiers),
    }
    if (node.readyAt && (before.readyAt === null || before.readyAtGuessed)) {
      order.readyAt = node.readyAt
      order.readyAtGuessed = false
    }
    const fresh = !known || notOlder(node.updatedAt, before.at)
    if (!isFinal(before.state) && (fresh || isFinal(node.state))) {
      Object.assign(order, {
        state: node.state,
        number: node.number ?? order.number,
        drink: node.drink ?? order.drink,
        modifiers: node.drink ? modifierChoice(node.modifiers) : order.modifiers,
        claimedBy: node.claimedBy,
        reason: node.reason,
        at: later(node.updatedAt, before.at),
      })
    }
    next = put(next, order)
  }
  return next
}

export interface Reload {
  /** Every QUEUED and IN_PRODUCTION order, all pages. */
  active: readonly OrderFieldsFragment[]
  /** The most recently placed COMPLETED orders. */
  completed: readonly OrderFieldsFragment[]
  /** `state.seq` when the reads started: orders no event touched since then are as the reads found them. */
  sinceSeq: number
  nowMs: number
}

/**
 * A full re-read after (re)connecting. An order we show as queued or in production that the read side no
 * longer lists ended while we were not listening (unless an event since the reads started says otherwise).
 */
export function reload(state: OrdersState, read: Reload): OrdersState {
  const merged = mergeNodes(state, [...read.active, ...read.completed])
  const listed = new Set([...read.active, ...read.completed].map((node) => node.id))
  const orders: Record<string, Order> = {}
  for (const order of Object.values(merged.orders)) {
    const shown = (order.state === 'QUEUED' || order.state === 'IN_PRODUCTION') && order.number !== null
    if (shown && !listed.has(order.id) && order.seq <= read.sinceSeq) continue
    if (isFinal(order.state) && read.nowMs - Math.max(time(order.at), time(order.readyAt)) > FORGET_ENDED_MS) continue
    orders[order.id] = order
  }
  return { ...merged, orders }
}

/**
 * Our own command's reply (the write model's order after the change), shown before its event arrives. It
 * does not claim to be newer than what we know, so the event that follows (with the real time) still applies.
 */
export function applyCommandResult(state: OrdersState, reply: OrderJson, nowMs: number): OrdersState {
  const known = state.orders[reply.orderId]
  if (!known || reply.shopId !== state.shopId || isFinal(known.state) || !isOrderState(reply.state)) return state
  const order: Order = {
    ...known,
    state: reply.state as OrderState,
    number: known.number ?? reply.number,
    claimedBy: reply.claimedBy,
    reason: reply.reason,
  }
  if (reply.state === 'COMPLETED' && known.readyAt === null) {
    order.readyAt = new Date(nowMs).toISOString()
    order.readyAtGuessed = true
  }
  return put(state, order)
}

export interface Card {
  order: Order
  ageSeconds: number
  level: AgeLevel
  /** In production by the signed-in barista: theirs to complete or put back. */
  mine: boolean
  /** In production by someone else: shown, but not for us to touch. */
  byOther: boolean
}

export interface Columns {
  queued: Card[]
  inProduction: Card[]
  ready: Card[]
}

/** How long an order has waited: since its drink was chosen, else since it was placed. */
export function ageSeconds(order: Order, nowMs: number): number {
  return secondsSince(order.queuedAt ?? order.createdAt, nowMs)
}

/** The three columns, each sorted by number; ready cards leave READY_SHOWN_MS after `readyAt`. */
export function columns(state: OrdersState, nowMs: number, sub: string, baristaTimeoutSeconds: number): Columns {
  const result: Columns = { queued: [], inProduction: [], ready: [] }
  for (const order of Object.values(state.orders)) {
    if (order.number === null) continue
    if (order.state === 'QUEUED' || order.state === 'IN_PRODUCTION') {
      const age = ageSeconds(order, nowMs)
      const making = order.state === 'IN_PRODUCTION' && order.claimedBy !== null
      // Without a known claimer the buttons stay usable: the API, not a guess, decides who may finish it.
      const card: Card = {
        order,
        ageSeconds: age,
        level: ageLevel(age, baristaTimeoutSeconds),
        mine: making && order.claimedBy === sub,
        byOther: making && order.claimedBy !== sub,
      }
      ;(order.state === 'QUEUED' ? result.queued : result.inProduction).push(card)
    } else if (order.state === 'COMPLETED' && order.readyAt && nowMs - time(order.readyAt) < READY_SHOWN_MS) {
      result.ready.push({ order, ageSeconds: secondsSince(order.readyAt, nowMs), level: 'fresh', mine: false, byOther: false })
    }
  }
  const byNumber = (a: Card, b: Card) => (a.order.number ?? 0) - (b.order.number ?? 0)
  result.queued.sort(byNumber)
  result.inProduction.sort(byNumber)
  result.ready.sort(byNumber)
  return result
}

/** "2:10"; minutes keep counting past an hour ("75:00"), which a bar never should reach. */
export function formatDuration(seconds: number): string {
  const total = Math.max(0, Math.round(seconds))
  return `${Math.floor(total / 60)}:${String(total % 60).padStart(2, '0')}`
}

/** The average wait for the stats strip: m:ss, or "–" before the first drink of the day. */
export function formatWait(seconds: number | null | undefined): string {
  return seconds === null || seconds === undefined || Number.isNaN(seconds) ? '–' : formatDuration(seconds)
}
