// When the display shows its QR code, and when it says "we're making drinks" instead.
import type { CurrentCode } from '../shared/api'

/** The code disappears for the last 15 s of its window (a scan would arrive too late) and when used up. */
export const HIDE_BEFORE_END_MS = 15_000

export type CodePanel =
  | { kind: 'show'; msLeft: number; remaining: number; share: number }
  | { kind: 'making'; msUntilNext: number; reason: 'exhausted' | 'ending' }
  | { kind: 'loading' }

export function codePanel(code: CurrentCode | null, nowMs: number, intervalSeconds: number): CodePanel {
  if (!code) return { kind: 'loading' }
  const msLeft = Date.parse(code.validUntil) - nowMs
  if (msLeft <= 0) return { kind: 'loading' }
  if (code.remaining <= 0) return { kind: 'making', msUntilNext: msLeft, reason: 'exhausted' }
  if (msLeft <= HIDE_BEFORE_END_MS) return { kind: 'making', msUntilNext: msLeft, reason: 'ending' }
  const share = Math.min(1, Math.max(0, msLeft / (intervalSeconds * 1000)))
  return { kind: 'show', msLeft, remaining: code.remaining, share }
}
