import { describe, expect, it } from 'vitest'
import { ageLevel, formatCountdown, nextUtcMidnight, secondsSince } from './time'

describe('formatCountdown', () => {
  it('shows minutes and zero-padded seconds, rounding up', () => {
    expect(formatCountdown(245_000)).toBe('4:05')
    expect(formatCountdown(59_001)).toBe('1:00')
    expect(formatCountdown(1)).toBe('0:01')
  })
  it('never goes below zero', () => {
    expect(formatCountdown(-5_000)).toBe('0:00')
  })
})

describe('ageLevel', () => {
  it('matches the original thresholds (120 s, 300 s) at the default 900 s timeout', () => {
    expect(ageLevel(0, 900)).toBe('fresh')
    expect(ageLevel(119, 900)).toBe('fresh')
    expect(ageLevel(120, 900)).toBe('waiting')
    expect(ageLevel(299, 900)).toBe('waiting')
    expect(ageLevel(300, 900)).toBe('late')
  })
  it('scales with the shop’s barista timeout', () => {
    expect(ageLevel(20, 150)).toBe('waiting') // 2/15 of 150 s = 20 s
    expect(ageLevel(50, 150)).toBe('late') // 1/3 of 150 s = 50 s
    expect(ageLevel(19, 150)).toBe('fresh')
  })
})

describe('secondsSince', () => {
  it('counts whole seconds and treats missing or bad times as zero', () => {
    expect(secondsSince('2026-12-02T10:00:00+00:00', Date.parse('2026-12-02T10:01:05Z'))).toBe(65)
    expect(secondsSince(null, 0)).toBe(0)
    expect(secondsSince('not a time', 0)).toBe(0)
    expect(secondsSince('2026-12-02T10:00:00Z', Date.parse('2026-12-02T09:00:00Z'))).toBe(0)
  })
})

describe('nextUtcMidnight', () => {
  it('is the start of the next UTC day', () => {
    expect(nextUtcMidnight(Date.parse('2026-12-02T23:59:59Z')).toISOString()).toBe('2026-12-03T00:00:00.000Z')
    expect(nextUtcMidnight(Date.parse('2026-12-31T00:00:00Z')).toISOString()).toBe('2027-01-01T00:00:00.000Z')
  })
})
