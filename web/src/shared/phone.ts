// Phone numbers: what a person types, turned into E.164 (libphonenumber-js), or a reason it is not one.
import { parsePhoneNumberFromString } from 'libphonenumber-js/min'

export type PhoneCheck = { ok: true; e164: string } | { ok: false; reason: 'empty' | 'invalid' }

/** Accepts "+34 600 12 34 56", "(650) 555-0100" with a default country, etc.; returns E.164. */
export function toE164(input: string, defaultCountry?: string): PhoneCheck {
  const text = input.trim()
  if (!text) return { ok: false, reason: 'empty' }
  const parsed = parsePhoneNumberFromString(text, defaultCountry as Parameters<typeof parsePhoneNumberFromString>[1])
  if (!parsed || !parsed.isValid()) return { ok: false, reason: 'invalid' }
  return { ok: true, e164: parsed.number }
}

/** The country to assume for numbers typed without "+": from the browser's language (es-ES → ES). */
export function countryFromLanguages(languages: readonly string[]): string | undefined {
  for (const tag of languages) {
    const region = tag.split('-')[1]
    if (region && /^[A-Za-z]{2}$/.test(region)) return region.toUpperCase()
  }
  return undefined
}
