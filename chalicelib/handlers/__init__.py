"""Chalice blueprints: thin adapters from HTTP, GraphQL and EventBridge to the services."""
