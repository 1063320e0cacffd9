"""Keycloak for development and tests: the distribution, a server runner, the ``kochi`` realm, an admin client.

- ``server``: fetch the distribution from Maven Central (SHA-256 pinned), build it once, run instances
  (``KeycloakServer``); ``python -m infra.keycloak.server --port 8180`` starts one and prints its start-up time.
- ``fetch``: ``python -m infra.keycloak.fetch`` downloads and pre-builds (used by ``infra/scripts/bootstrap.sh``).
- ``realm``: builds ``realm-kochi.json`` from ``tenants/data/kochi_municipalities.csv``.
- ``admin``: a small synchronous admin REST client using the ``kyosei-admin`` service account.
- ``local``: ``local_keycloak(settings)``, the server ``kyosei run`` starts.
"""

_EXPORTS = {
    "KEYCLOAK_VERSION",
    "REALM",
    "REALM_FILE",
    "KeycloakError",
    "KeycloakServer",
    "ensure_server_image",
    "fetch_distribution",
    "find_java_home",
    "free_port",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    # Lazy, so that ``python -m infra.keycloak.server`` does not import the module twice.
    if name in _EXPORTS:
        from infra.keycloak import server

        return getattr(server, name)
    raise AttributeError(name)
