// A shop as the screens hold it: from the Shop query, or from a ConfigChanged message on its config topic.
import type { ShopQuery } from './generated/graphql'
import type { LiveMessage } from './live'

export type ShopView = NonNullable<ShopQuery['shop']>

/** The whole shop a ConfigChanged message carries (`detail.shop`), in the Shop query's shape. */
export function shopFromConfig(message: LiveMessage): ShopView | null {
  const raw = message.detail.shop as Partial<ShopView> & { shopId?: unknown }
  if (!raw || typeof raw.shopId !== 'string' || typeof raw.version !== 'number' || !raw.settings || !raw.menu) return null
  return {
    id: raw.shopId,
    name: String(raw.name ?? raw.shopId),
    open: Boolean(raw.open),
    version: raw.version,
    menu: raw.menu,
    settings: raw.settings,
  }
}

/** Views of a shop arrive out of order (query results, retained and fresh messages): the newest version wins. */
export function newestShop(current: ShopView | null, next: ShopView | null): ShopView | null {
  if (!next) return current
  if (!current || current.id !== next.id || next.version >= current.version) return next
  return current
}
