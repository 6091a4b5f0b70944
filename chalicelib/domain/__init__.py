"""Pure domain: orders, shops, QR code windows, events and errors; no I/O."""
