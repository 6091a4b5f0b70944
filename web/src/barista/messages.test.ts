// Every word in three languages with the same placeholders, and the English names the browser tests rely on.
import { describe, expect, it } from 'vitest'
import { flatten } from '../shared/i18n'
import { messages } from './messages'

const flat = (language: 'en' | 'es' | 'zh') => flatten(messages[language])
const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort()

describe('barista messages', () => {
  it('says everything in Spanish and Chinese too, with the same placeholders', () => {
    const en = flat('en')
    for (const language of ['es', 'zh'] as const) {
      const other = flat(language)
      expect(Object.keys(other).sort()).toEqual(Object.keys(en).sort())
      for (const [key, text] of Object.entries(en)) expect([key, placeholders(other[key] ?? '')]).toEqual([key, placeholders(text)])
    }
  })

  it('keeps the English control names the browser tests look for', () => {
    const en = flat('en')
    expect(en).toMatchObject({
      'barista.actions.make': 'Make',
      'barista.actions.unmake': 'Unmake',
      'barista.actions.complete': 'Complete',
      'barista.actions.cancel': 'Cancel',
      'barista.actions.printTicket': 'Print ticket #{n}',
      'barista.store.openAction': 'Open store',
      'barista.store.closeAction': 'Close store',
      'barista.store.open': 'Store open',
      'barista.store.closed': 'Store closed',
      'barista.sound.mute': 'Mute chime',
      'barista.menu.available': '{drink} available',
      'barista.newOrder': 'New order #{n}',
      'barista.columns.queued': 'Queued',
      'barista.columns.inProduction': 'In production',
      'barista.columns.ready': 'Ready',
    })
  })

  it('uses no character vue-i18n would read as message syntax', () => {
    // "@" starts a linked message and "|" separates plural forms: neither is meant anywhere here.
    for (const language of ['en', 'es', 'zh'] as const) {
      for (const text of Object.values(flat(language))) expect(text).not.toMatch(/[@|]/)
    }
  })
})
