"""backprop-lab's web server: streams a training run from the engine to the browser.

The app factory is `server.app.create_app`; the console script is `server.cli.main`.
"""
