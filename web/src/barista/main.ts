// The barista tablet: live order columns, the store switch, menu, settings and ticket printing.
import { mountApp } from '../shared/boot'
import BaristaApp from './BaristaApp.vue'
import { messages } from './messages'

void mountApp(BaristaApp, messages)
