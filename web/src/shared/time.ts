// Time on screens: countdowns, ages, the colour of an order's age, when a UTC day ends.
import { onBeforeUnmount, ref, type Ref } from 'vue'

/** "4:05" for 245 s; never negative. */
export function formatCountdown(milliseconds: number): string {
  const total = Math.max(0, Math.ceil(milliseconds / 1000))
  const minutes = Math.floor(total / 60)
  const seconds = total % 60
  return `${minutes}:${String(seconds).padStart(2, '0')}`
}

export function secondsSince(iso: string | null | undefined, nowMs: number): number {
  if (!iso) return 0
  const then = Date.parse(iso)
  return Number.isNaN(then) ? 0 : Math.max(0, Math.floor((nowMs - then) / 1000))
}

export type AgeLevel = 'fresh' | 'waiting' | 'late'

/**
 * How worried a barista should be about an order of this age. The original app used 120 s and 300 s with
 * a 900 s barista timeout; we keep those shares (2/15 and 1/3) of whatever timeout the shop sets.
 */
export function ageLevel(ageSeconds: number, baristaTimeoutSeconds: number): AgeLevel {
  if (ageSeconds < (baristaTimeoutSeconds * 2) / 15) return 'fresh'
  if (ageSeconds < baristaTimeoutSeconds / 3) return 'waiting'
  return 'late'
}

/** The per-customer daily limit counts UTC days (the API's day): it resets at the next UTC midnight. */
export function nextUtcMidnight(nowMs: number): Date {
  const now = new Date(nowMs)
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1))
}

/** A ref holding Date.now(), ticking while the component lives. */
export function useNow(intervalMs = 1000): Ref<number> {
  const now = ref(Date.now())
  const timer = setInterval(() => {
    now.value = Date.now()
  }, intervalMs)
  onBeforeUnmount(() => clearInterval(timer))
  return now
}
