"""The read-only web app (``newsmon web``): pages, JSON API and Atom feeds over the store."""
