"""The REST API under /api/v1/: base classes in api.base, one module per sub-domain, routes in api.urls.

Kept free of imports: DRF loads api.auth and api.pagination from the settings
while it defines its own views, and must not import the portal's views then.
"""
