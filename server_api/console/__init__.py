"""The staff console: kiosks' health, configuration, commands, staff tasks and statistics for the
consortium's staff, in the browser, inside the gateway (`server_api.console.app.create_console_app`).

`server_api.console.managed` (the centrally managed kiosk settings and their ranges) imports only the
standard library, so kiosks may import it; importing this package imports nothing else.
"""
