"""Adapters: one module per outside system, each implementing the ports in chalicelib.ports."""
