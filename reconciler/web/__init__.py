"""The web dashboard (`reconciler serve`): server-rendered pages and a JSON API over api.py."""
