import { describe, expect, it } from 'vitest'
import { deepMerge, flatten, pickLanguage } from './i18n'
import { messages } from './locales'

describe('pickLanguage', () => {
  it('follows the browser’s first supported language', () => {
    expect(pickLanguage(['es-ES', 'en'], null)).toBe('es')
    expect(pickLanguage(['fr-FR', 'zh-CN'], null)).toBe('zh')
    expect(pickLanguage(['fr-FR'], null)).toBe('en')
  })
  it('prefers what the person chose in the app', () => {
    expect(pickLanguage(['es-ES'], 'zh')).toBe('zh')
    expect(pickLanguage(['es-ES'], 'xx')).toBe('es')
  })
})

describe('messages', () => {
  it('flattens nested messages into dotted keys', () => {
    expect(flatten({ a: { b: 'x', c: { d: 'y' } }, e: 'z' })).toEqual({ 'a.b': 'x', 'a.c.d': 'y', e: 'z' })
  })
  it('lets an app override and extend the shared words', () => {
    expect(deepMerge({ a: { b: 'x', c: 'y' } }, { a: { c: 'z' }, d: 'w' })).toEqual({ a: { b: 'x', c: 'z' }, d: 'w' })
  })
  it('has every shared English message in Spanish and Chinese too', () => {
    const keys = (language: 'en' | 'es' | 'zh') => Object.keys(flatten(messages[language])).sort()
    expect(keys('es')).toEqual(keys('en'))
    expect(keys('zh')).toEqual(keys('en'))
  })
})
