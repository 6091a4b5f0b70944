// Refusals in plain words, from the barista’s own sentences down to the shared ones.
import { describe, expect, it } from 'vitest'
import { AppError } from '../shared/errors'
import { flatten } from '../shared/i18n'
import { messages as shared } from '../shared/locales'
import { errorText } from './errors'
import { messages } from './messages'

// The English words as the app merges them, and a `t` that fills in {placeholders} like vue-i18n.
const words = { ...flatten(shared.en), ...flatten(messages.en) }
const t = (key: string, params: Record<string, unknown>) =>
  (words[key] ?? key).replace(/\{(\w+)\}/g, (_, name: string) => String(params[name]))
const te = (key: string) => key in words

describe('errorText', () => {
  it('names the order for the refusals a card can meet', () => {
    expect(errorText(t, te, new AppError('already_claimed', 'held by b-2', 409), 12)).toBe(
      'Order #12 is already being made by another barista.',
    )
    expect(errorText(t, te, new AppError('invalid_state', 'order is COMPLETED', 409), 12)).toMatch(/^Order #12 has already moved on/)
  })

  it('falls back to the shared words, then to a general sentence with the API’s message', () => {
    expect(errorText(t, te, new AppError('network', 'failed to fetch'), 12)).toBe(words['errors.network'])
    expect(errorText(t, te, new AppError('teapot', 'short and stout'), 12)).toBe('Order #12: that did not work (short and stout).')
    expect(errorText(t, te, new AppError('teapot', 'short and stout'))).toBe('Something went wrong: short and stout')
  })
})
