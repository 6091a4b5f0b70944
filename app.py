"""Serverlesspresso: the Chalice app. Routes, event handlers and middleware live in chalicelib/handlers."""

from chalice import Chalice  # type: ignore[attr-defined]

from chalicelib.handlers import events, graphql_api, http_support, iot, rest

app = Chalice(app_name="serverlesspresso")
app.register_blueprint(rest.bp)
app.register_blueprint(graphql_api.bp)
app.register_blueprint(events.bp)
app.register_blueprint(iot.bp)
# Middleware registered on the app wraps every route, the blueprints' included.
app.register_middleware(http_support.error_responses, "http")
