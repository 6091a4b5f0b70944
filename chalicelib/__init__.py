"""Serverlesspresso runtime code: packaged by Chalice into the Lambda functions."""
