"""Where a desk's articles and conversations live: one desk (desk.py: the Chroma collections and
keyword index behind it), the registry of desks, opening them, and each desk's SQLite history.
"""
