// The big screen: the shop's rotating QR code and the order numbers upcoming and ready.
import { mountApp } from '../shared/boot'
import DisplayApp from './DisplayApp.vue'
import { messages } from './messages'

void mountApp(DisplayApp, messages)
