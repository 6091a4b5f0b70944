import { describe, expect, it } from 'vitest'
import { applyBoardMessage, applyChange, applySnapshot, emptyBoard, upcoming } from './board'

const snapshot = (at: string, waiting: number[], inProduction: number[], ready: number[]) => ({
  type: 'Board.Current',
  at,
  detail: { shopId: 's', waiting, inProduction, ready },
})
const change = (at: string, number: number, state: string) => ({
  type: 'OrderManager.X',
  at,
  detail: { shopId: 's', number, state },
})

describe('board', () => {
  it('takes a snapshot as it is', () => {
    const state = applyBoardMessage(emptyBoard(), snapshot('2026-12-02T10:00:00Z', [3, 4], [2], [1]))
    expect([state.waiting, state.inProduction, state.ready]).toEqual([[3, 4], [2], [1]])
  })

  it('ignores a snapshot older than the one shown', () => {
    let state = applyBoardMessage(emptyBoard(), snapshot('2026-12-02T10:00:02Z', [], [], [5]))
    state = applyBoardMessage(state, snapshot('2026-12-02T10:00:01Z', [5], [], []))
    expect(state.ready).toEqual([5])
    expect(state.waiting).toEqual([])
  })

  it('moves a number on each change, newest ready first', () => {
    let state = applyBoardMessage(emptyBoard(), snapshot('2026-12-02T10:00:00Z', [1, 2], [], []))
    state = applyBoardMessage(state, change('2026-12-02T10:00:01Z', 1, 'IN_PRODUCTION'))
    expect([state.waiting, state.inProduction]).toEqual([[2], [1]])
    state = applyBoardMessage(state, change('2026-12-02T10:00:02Z', 1, 'COMPLETED'))
    state = applyBoardMessage(state, change('2026-12-02T10:00:03Z', 2, 'COMPLETED'))
    expect([state.waiting, state.inProduction, state.ready]).toEqual([[], [], [2, 1]])
  })

  it('drops cancelled and timed-out numbers', () => {
    let state = applyBoardMessage(emptyBoard(), snapshot('2026-12-02T10:00:00Z', [1, 2], [], []))
    state = applyBoardMessage(state, change('2026-12-02T10:00:01Z', 1, 'CANCELLED'))
    state = applyBoardMessage(state, change('2026-12-02T10:00:01Z', 2, 'TIMED_OUT'))
    expect(upcoming(state)).toEqual([])
    expect(state.ready).toEqual([])
  })

  it('does not let a snapshot computed before a change undo it', () => {
    let state = applyBoardMessage(emptyBoard(), snapshot('2026-12-02T10:00:00Z', [1], [], []))
    state = applyBoardMessage(state, change('2026-12-02T10:00:05Z', 1, 'COMPLETED'))
    // published later, but read before the completion was projected
    state = applyBoardMessage(state, snapshot('2026-12-02T10:00:06Z', [], [1], []))
    expect(state.inProduction).toEqual([])
    expect(state.ready).toEqual([1])
  })

  it('ignores a late change older than the newest one for that number', () => {
    let state = applyChange(emptyBoard(), 7, 'IN_PRODUCTION', '2026-12-02T10:00:02Z')
    state = applyChange(state, 7, 'QUEUED', '2026-12-02T10:00:01Z')
    expect(state.inProduction).toEqual([7])
    expect(state.waiting).toEqual([])
  })

  it('never brings back a finished number, whatever its time', () => {
    let state = applyChange(emptyBoard(), 7, 'COMPLETED', '2026-12-02T10:00:02Z')
    state = applyChange(state, 7, 'QUEUED', '2026-12-02T10:00:03Z')
    expect(state.ready).toEqual([7])
    expect(state.waiting).toEqual([])
  })

  it('keeps only the ten most recent ready numbers', () => {
    let state = emptyBoard()
    for (let n = 1; n <= 12; n++) state = applyChange(state, n, 'COMPLETED', `2026-12-02T10:00:${String(n).padStart(2, '0')}Z`)
    expect(state.ready).toEqual([12, 11, 10, 9, 8, 7, 6, 5, 4, 3])
  })

  it('lists orders being made before waiting ones', () => {
    const state = applySnapshot(emptyBoard(), { waiting: [5, 6], inProduction: [4], ready: [] }, '2026-12-02T10:00:00Z')
    expect(upcoming(state)).toEqual([
      { number: 4, making: true },
      { number: 5, making: false },
      { number: 6, making: false },
    ])
  })

  it('ignores messages without a number or state', () => {
    const state = applyBoardMessage(emptyBoard(), { type: 'X', at: '', detail: { shopId: 's' } })
    expect(state).toEqual(emptyBoard())
  })
})
