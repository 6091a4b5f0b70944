// A native <dialog> (the template's `ref="<key>"`) shown as a modal while `open()` is true: focus stays
// inside, Escape asks to close.
import { nextTick, useTemplateRef, watch } from 'vue'

export function useModal(key: string, open: () => boolean): void {
  const dialog = useTemplateRef<HTMLDialogElement>(key)
  watch(
    open,
    async (isOpen) => {
      await nextTick()
      if (!dialog.value) return
      if (isOpen && !dialog.value.open) dialog.value.showModal()
      if (!isOpen && dialog.value.open) dialog.value.close()
    },
    { immediate: true },
  )
}
