"""GraphQL read side (Strawberry): types, resolvers and the schema exported to graphql/schema.graphql."""
