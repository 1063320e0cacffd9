"""The whole schema in one metadata, so Alembic sees every table. Import each domain's models here."""

from core.database import Base
import core.audit.models  # noqa: F401
import core.auth.models  # noqa: F401
import core.auth.staff_directory  # noqa: F401
import core.cases.models  # noqa: F401
import core.grants.models  # noqa: F401
import core.meetings.models  # noqa: F401
import core.plugins.models  # noqa: F401
import core.prefecture.models  # noqa: F401
import core.programs.models  # noqa: F401
import tenants.models  # noqa: F401

metadata = Base.metadata
