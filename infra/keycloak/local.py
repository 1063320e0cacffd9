"""``local_keycloak(settings)``: the Keycloak that ``kyosei run`` starts when ``KEYCLOAK_URL`` is unset.

State lives in ``KYOSEI_DATA_DIR/keycloak`` (H2 file database; the realm is imported on the first start only),
the log in ``KYOSEI_DATA_DIR/keycloak.log``. The back-channel logout URL of the web client is pointed at this
app's ``/auth/backchannel-logout`` after every start.
"""

from __future__ import annotations

import contextlib
import sys
from typing import Iterator

from infra.keycloak.realm import BACKCHANNEL_LOGOUT_PATH
from infra.keycloak.server import KeycloakServer


@contextlib.contextmanager
def local_keycloak(settings) -> Iterator[KeycloakServer]:
    server = KeycloakServer(
        http_port=settings.keycloak_port,
        persistent_dir=settings.data_dir / "keycloak",
        log_file=settings.data_dir / "keycloak.log",
        realm=settings.keycloak_realm,
    )
    with server:
        print(f"Keycloak ready after {server.ready_after:.1f}s: {server.issuer}", file=sys.stderr, flush=True)
        try:
            from infra.keycloak.admin import KeycloakAdmin, seed_demo_memberships

            with KeycloakAdmin(
                server.base_url, settings.keycloak_realm, settings.admin_client_id, settings.admin_client_secret
            ) as admin:
                admin.set_backchannel_logout_url(
                    f"{settings.public_url}{BACKCHANNEL_LOGOUT_PATH}", settings.oidc_client_id
                )
                seed_demo_memberships(admin)  # the demo users' roles per municipality (organization groups)
        except Exception as exc:  # login still works; only Keycloak-initiated logout would not reach the app
            print(f"warning: could not set the back-channel logout URL or demo roles: {exc}", file=sys.stderr,
                  flush=True)
        yield server
