// The display's board: order numbers upcoming and ready, from retained snapshots plus per-number changes.
import type { LiveMessage } from '../shared/live'

export const BOARD_SNAPSHOT = 'Board.Current'
const READY_SHOWN = 10

export interface BoardView {
  waiting: number[]
  inProduction: number[]
  /** Most recently ready first. */
  ready: number[]
}

export interface BoardState extends BoardView {
  snapshotAt: string
  /** The newest change seen for each number, so an older snapshot or a late event cannot undo it. */
  changes: Record<number, { state: string; at: string }>
}

export const emptyBoard = (): BoardState => ({ waiting: [], inProduction: [], ready: [], snapshotAt: '', changes: {} })

const FINISHED = new Set(['COMPLETED', 'CANCELLED', 'TIMED_OUT'])

function numbers(value: unknown): number[] {
  return Array.isArray(value) ? value.filter((n): n is number => Number.isInteger(n)) : []
}

/** A snapshot from the read side (GraphQL `board` or the retained `Board.Current` message). */
export function applySnapshot(state: BoardState, board: BoardView, at: string): BoardState {
  if (at && state.snapshotAt && at < state.snapshotAt) return state
  let next: BoardState = {
    waiting: [...board.waiting],
    inProduction: [...board.inProduction],
    ready: [...board.ready],
    snapshotAt: at || state.snapshotAt,
    changes: state.changes,
  }
  // Changes newer than the snapshot, or that ended a number, are not undone by it.
  for (const [key, change] of Object.entries(state.changes)) {
    if (change.at > next.snapshotAt || FINISHED.has(change.state)) next = place(next, Number(key), change.state)
  }
  return next
}

export function applyChange(state: BoardState, number: number, orderState: string, at: string): BoardState {
  const known = state.changes[number]
  if (known && (known.at > at || FINISHED.has(known.state))) return state
  return place({ ...state, changes: { ...state.changes, [number]: { state: orderState, at } } }, number, orderState)
}

function place(state: BoardState, number: number, orderState: string): BoardState {
  const without = (list: number[]) => list.filter((n) => n !== number)
  const next = { ...state, waiting: without(state.waiting), inProduction: without(state.inProduction), ready: without(state.ready) }
  if (orderState === 'QUEUED') next.waiting = [...next.waiting, number].sort((a, b) => a - b)
  else if (orderState === 'IN_PRODUCTION') next.inProduction = [...next.inProduction, number].sort((a, b) => a - b)
  else if (orderState === 'COMPLETED') next.ready = [number, ...state.ready.filter((n) => n !== number)].slice(0, READY_SHOWN)
  return next
}

/** One message from the shop's board topic. */
export function applyBoardMessage(state: BoardState, message: LiveMessage): BoardState {
  const detail = message.detail
  if (message.type === BOARD_SNAPSHOT) {
    return applySnapshot(
      state,
      { waiting: numbers(detail.waiting), inProduction: numbers(detail.inProduction), ready: numbers(detail.ready) },
      message.at,
    )
  }
  const number = detail.number
  const orderState = detail.state
  if (typeof number !== 'number' || typeof orderState !== 'string') return state
  return applyChange(state, number, orderState, message.at)
}

/** Upcoming on the big screen: everything not ready yet, in production first (they come out next). */
export function upcoming(board: BoardView): { number: number; making: boolean }[] {
  return [
    ...board.inProduction.map((number) => ({ number, making: true })),
    ...board.waiting.map((number) => ({ number, making: false })),
  ]
}
