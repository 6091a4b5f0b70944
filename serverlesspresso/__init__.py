"""The local runtime and CLI: runs the Chalice app, workflow and bus on one machine (not packaged for Lambda)."""
