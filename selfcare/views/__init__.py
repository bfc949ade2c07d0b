"""Pages of the core app, one module per sub-domain; every company page extends views.base.CompanyView."""
