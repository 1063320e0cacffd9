"""The whole schema in one metadata, so Alembic sees every table. Import each domain's models here."""

from core.database import Base
import core.audit.models  # noqa: F401
import core.auth.models  # noqa: F401
import tenants.models  # noqa: F401

metadata = Base.metadata
