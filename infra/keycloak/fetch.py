"""``python -m infra.keycloak.fetch``: download, verify, extract and pre-build the Keycloak distribution.

Run by ``infra/scripts/bootstrap.sh`` so that the first test or ``kyosei run`` does not pay for the build.
"""

from __future__ import annotations

import sys
import time

from infra.keycloak.server import KEYCLOAK_VERSION, KeycloakError, ensure_server_image, fetch_distribution


def main() -> int:
    began = time.monotonic()
    try:
        home = fetch_distribution()
        image = ensure_server_image()
    except KeycloakError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"Keycloak {KEYCLOAK_VERSION}: {home} (built image {image.name}) in {time.monotonic() - began:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
