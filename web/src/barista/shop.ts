// The edits a barista makes to the shop (menu availability, settings) and the REST replies they bring back.
import type { MenuDrink, ShopJson, ShopSettings } from '../shared/api'
import type { ShopView } from '../shared/shop'

export type SettingKey = keyof ShopSettings

/** The order the form shows them in: the QR code first, then the queue, then the timeouts. */
export const SETTING_KEYS: readonly SettingKey[] = [
  'drinksPerCode',
  'codeIntervalSeconds',
  'maxOrdersInQueue',
  'maxOrdersPerCustomerPerDay',
  'customerTimeoutSeconds',
  'baristaTimeoutSeconds',
]

/** Inclusive bounds, as the API checks them (chalicelib/domain/shop.py SETTING_BOUNDS). */
export const SETTING_BOUNDS: Record<SettingKey, readonly [number, number]> = {
  drinksPerCode: [1, 10_000],
  codeIntervalSeconds: [10, 86_400],
  maxOrdersInQueue: [1, 10_000],
  maxOrdersPerCustomerPerDay: [1, 1_000],
  customerTimeoutSeconds: [1, 86_400],
  baristaTimeoutSeconds: [1, 86_400],
}

export const DEFAULT_BARISTA_TIMEOUT_SECONDS = 900

/** A REST reply (store, menu, settings) as the screens hold a shop: it carries the version, so it competes fairly. */
export function fromReply(reply: ShopJson): ShopView {
  return {
    id: reply.shopId,
    name: reply.name,
    open: reply.open,
    version: reply.version,
    menu: reply.menu,
    settings: reply.settings,
  }
}

/** The whole menu for PUT /menu, with only one drink's availability changed. */
export function withAvailability(menu: readonly MenuDrink[], drink: string, available: boolean): MenuDrink[] {
  return menu.map((item) => (item.name === drink ? { ...item, available } : item))
}

// Strings as typed, or numbers: Vue's v-model casts the value of an <input type="number">.
export type SettingsDraft = Record<SettingKey, string | number>
export type SettingProblem = 'range'

export function draftOf(settings: ShopSettings): SettingsDraft {
  return Object.fromEntries(SETTING_KEYS.map((key) => [key, String(settings[key])])) as SettingsDraft
}

/** What to PATCH: only the fields that differ from the shop, each a whole number within its bounds. */
export function settingsChanges(
  current: ShopSettings,
  draft: SettingsDraft,
): { changes: Partial<ShopSettings>; problems: Partial<Record<SettingKey, SettingProblem>> } {
  const changes: Partial<ShopSettings> = {}
  const problems: Partial<Record<SettingKey, SettingProblem>> = {}
  for (const key of SETTING_KEYS) {
    const raw = String(draft[key]).trim()
    const value = Number(raw)
    const [low, high] = SETTING_BOUNDS[key]
    if (raw === '' || !Number.isInteger(value) || value < low || value > high) problems[key] = 'range'
    else if (value !== current[key]) changes[key] = value
  }
  return { changes, problems }
}

/**
 * The draft after the shop changed under it (another tablet saved): fields this barista has not touched
 * follow the shop, the ones they are editing stay as typed.
 */
export function rebaseDraft(draft: SettingsDraft, before: ShopSettings, after: ShopSettings): SettingsDraft {
  const next = { ...draft }
  for (const key of SETTING_KEYS) {
    if (String(draft[key]).trim() === String(before[key])) next[key] = String(after[key])
  }
  return next
}

/** The setting an API validation message is about ("baristaTimeoutSeconds must be…"), so the form can point at it. */
export function settingInMessage(message: string): SettingKey | null {
  return SETTING_KEYS.find((key) => new RegExp(`\\b${key}\\b`).test(message)) ?? null
}
