"""The API's resources, one module each (found by :func:`cnsec.serve.app.parts`)."""
