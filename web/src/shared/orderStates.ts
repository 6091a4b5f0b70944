// Order states as the screens read them: which are final, and the state a live event says an order is in.
import type { OrderState } from './generated/graphql'

export const FINAL_STATES: ReadonlySet<string> = new Set(['COMPLETED', 'CANCELLED', 'TIMED_OUT', 'REJECTED'])
const STATES: ReadonlySet<string> = new Set(['WAITING_FOR_DRINK', 'QUEUED', 'IN_PRODUCTION', ...FINAL_STATES])

// The workflow's endings carry no `state` (or not one to rely on): their type says it.
const STATE_BY_TYPE: Readonly<Record<string, OrderState>> = {
  'OrderProcessor.OrderTimeOut': 'TIMED_OUT',
  'OrderProcessor.ShopUnavailable': 'REJECTED',
}

export const isFinal = (state: string): boolean => FINAL_STATES.has(state)

export function isOrderState(value: unknown): value is OrderState {
  return typeof value === 'string' && STATES.has(value)
}

/** The state an event of `type` with this detail `state` says the order is in; null if it says none. */
export function stateOfEvent(type: string, detailState: unknown): OrderState | null {
  return STATE_BY_TYPE[type] ?? (isOrderState(detailState) ? detailState : null)
}
