"""Identity: Keycloak OIDC login for staff, bearer tokens for the API, server-side sessions, CSRF, roles."""
