import { describe, expect, it } from 'vitest'
import { codePanel } from './code'

const code = (validUntil: string, remaining: number) => ({ code: 'c', orderUrl: 'u', validUntil, remaining })
const at = (iso: string) => Date.parse(iso)

describe('codePanel', () => {
  it('shows the code with its remaining drinks and the share of the window left', () => {
    const panel = codePanel(code('2026-12-02T10:05:00Z', 7), at('2026-12-02T10:02:30Z'), 300)
    expect(panel).toEqual({ kind: 'show', msLeft: 150_000, remaining: 7, share: 0.5 })
  })

  it('hides the code for the last 15 seconds of its window', () => {
    expect(codePanel(code('2026-12-02T10:05:00Z', 7), at('2026-12-02T10:04:45.001Z'), 300)).toMatchObject({
      kind: 'making',
      reason: 'ending',
    })
    expect(codePanel(code('2026-12-02T10:05:00Z', 7), at('2026-12-02T10:04:44Z'), 300).kind).toBe('show')
  })

  it('hides the code when no drinks remain, counting down to the next one', () => {
    expect(codePanel(code('2026-12-02T10:05:00Z', 0), at('2026-12-02T10:01:00Z'), 300)).toEqual({
      kind: 'making',
      msUntilNext: 240_000,
      reason: 'exhausted',
    })
  })

  it('asks for the next code once the window has ended', () => {
    expect(codePanel(code('2026-12-02T10:05:00Z', 3), at('2026-12-02T10:05:00Z'), 300).kind).toBe('loading')
    expect(codePanel(null, 0, 300).kind).toBe('loading')
  })
})
