import { describe, expect, it } from 'vitest'
import { flatten } from '../shared/i18n'
import { messages as display } from '../display/messages'
import { messages } from './messages'

describe('app messages', () => {
  it.each([
    ['order', messages],
    ['display', display],
  ])('the %s app says everything in Spanish and Chinese too', (_, appMessages) => {
    const keys = (language: 'en' | 'es' | 'zh') => Object.keys(flatten(appMessages[language])).sort()
    expect(keys('es')).toEqual(keys('en'))
    expect(keys('zh')).toEqual(keys('en'))
  })
})
