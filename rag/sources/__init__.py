"""Articles coming in from outside a file: links fetched over HTTP (links.py), RSS and Atom feeds
(feeds.py), and the progress reporting and file helpers the ingest paths share.
"""
