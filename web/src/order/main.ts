// The customer's phone: sign in, choose a drink, follow the order until it is ready.
import { mountApp } from '../shared/boot'
import { messages } from './messages'
import OrderApp from './OrderApp.vue'

void mountApp(OrderApp, messages)
