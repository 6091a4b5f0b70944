"""Serverlesspresso: the Chalice app. Routes and event handlers live in chalicelib/handlers."""

from chalice import Chalice  # type: ignore[attr-defined]

from chalicelib.handlers import events, graphql_api, iot, rest

app = Chalice(app_name="serverlesspresso")
app.register_blueprint(rest.bp)
app.register_blueprint(graphql_api.bp)
app.register_blueprint(events.bp)
app.register_blueprint(iot.bp)
