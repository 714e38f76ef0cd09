"""WSGI entry point: `gunicorn wsgi:app`."""

from opcert import create_app

app = create_app()
