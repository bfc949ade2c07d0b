"""`make bench-load`: 200 clients of many companies walking the portal (QUALITY.md, "load")."""
