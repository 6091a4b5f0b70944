"""Helpers shared by the test suites that drive the running local stack (integration, end-to-end)."""
