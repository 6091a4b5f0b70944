// A refusal in plain words: the barista's own sentence for an order's error code, else the shared one, else a general one.
import type { AppError } from '../shared/errors'

export type Translate = (key: string, params: Record<string, unknown>) => string
export type Exists = (key: string) => boolean

/** `number` names the order the refusal is about (a card's command); without it, the shop's words apply. */
export function errorText(t: Translate, te: Exists, error: AppError, number?: number | null): string {
  const detail = error.message
  const about = number ?? null
  if (about !== null && te(`barista.errors.${error.code}`)) return t(`barista.errors.${error.code}`, { n: about, detail })
  if (te(`errors.${error.code}`)) return t(`errors.${error.code}`, { detail })
  return about !== null ? t('barista.errors.other', { n: about, detail }) : t('errors.other', { detail })
}
