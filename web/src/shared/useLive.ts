// Live updates for a component: connects once mounted, re-subscribes and re-syncs after every reconnect.
import { onBeforeUnmount, onMounted, ref, type Ref } from 'vue'
import { idToken } from './auth'
import { useAppContext } from './context'
import { LiveConnection, type LiveMessage, type LiveState } from './live'

export function useLive(
  topics: string[],
  onMessage: (topic: string, message: LiveMessage) => void,
  onResync: () => void,
): { state: Ref<LiveState> } {
  const { config } = useAppContext()
  const state = ref<LiveState>('connecting')
  const connection = new LiveConnection({
    url: config.mqttUrl,
    username: config.mqttUsername,
    token: idToken,
    topics,
    onMessage,
    onState: (next) => {
      state.value = next
    },
    onResync,
  })
  onMounted(() => connection.start())
  onBeforeUnmount(() => connection.stop())
  return { state }
}
