"""One module per command, each exposing ``register(app)``; see :mod:`mouthsync.cli`."""
