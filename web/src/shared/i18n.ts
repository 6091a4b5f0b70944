// Languages: English, Spanish and Chinese, following the browser's language unless the person chose one.
import { createI18n, useI18n } from 'petite-vue-i18n'
import { messages as shared, type Messages } from './locales'

export const LANGUAGES = [
  { code: 'en', name: 'English' },
  { code: 'es', name: 'Español' },
  { code: 'zh', name: '中文' },
] as const
export type Language = (typeof LANGUAGES)[number]['code']

const STORAGE_KEY = 'serverlesspresso.language'

/** The first supported language among the browser's, by primary subtag ("es-MX" → "es"); English otherwise. */
export function pickLanguage(preferred: readonly string[], stored: string | null): Language {
  const supported = LANGUAGES.map((l) => l.code) as readonly string[]
  if (stored && supported.includes(stored)) return stored as Language
  for (const tag of preferred) {
    const primary = tag.toLowerCase().split('-')[0] ?? ''
    if (supported.includes(primary)) return primary as Language
  }
  return 'en'
}

function storedLanguage(): string | null {
  try {
    return localStorage.getItem(STORAGE_KEY)
  } catch {
    return null
  }
}

/** Each app passes its own messages; they are merged over the shared ones (sign-in, connection, common). */
export function createAppI18n(appMessages: Record<Language, Messages>) {
  const locale = pickLanguage(navigator.languages ?? [navigator.language], storedLanguage())
  document.documentElement.lang = locale
  const merged = Object.fromEntries(
    LANGUAGES.map(({ code }) => [code, flatten(deepMerge(shared[code], appMessages[code]))]),
  ) as Record<Language, Record<string, string>>
  return createI18n({ legacy: false, locale, fallbackLocale: 'en', messages: merged })
}

export function rememberLanguage(language: Language): void {
  document.documentElement.lang = language
  try {
    localStorage.setItem(STORAGE_KEY, language)
  } catch {
    // private mode: the choice lasts for this page only
  }
}

/** petite-vue-i18n looks keys up as they are, so nested messages become "signIn.errors.network" keys. */
export function flatten(messages: Messages, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [key, value] of Object.entries(messages)) {
    if (typeof value === 'string') out[prefix + key] = value
    else Object.assign(out, flatten(value, `${prefix}${key}.`))
  }
  return out
}

/** `t` and `locale`, plus `te` (does a message exist?), which petite-vue-i18n leaves out. */
export function useText() {
  const { t, locale, getLocaleMessage } = useI18n()
  const has = (language: string, key: string) =>
    typeof (getLocaleMessage(language) as Record<string, unknown>)[key] === 'string'
  const te = (key: string): boolean => has(locale.value, key) || has('en', key)
  return { t, te, locale }
}

export function deepMerge(base: Messages, extra: Messages): Messages {
  const out: Messages = { ...base }
  for (const [key, value] of Object.entries(extra)) {
    const current = out[key]
    out[key] =
      typeof value === 'object' && typeof current === 'object' ? deepMerge(current as Messages, value as Messages) : value
  }
  return out
}
