"""Use cases: each service takes its ports as constructor arguments and holds no AWS code."""
