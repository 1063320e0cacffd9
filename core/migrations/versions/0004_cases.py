"""cases (相談支援): households, people, cases, consent, assessment, plan, records, agencies, break-the-glass.

Every table here is a tenant table: ``tenant_id`` first in the primary key ``(tenant_id, id)``, in every index and
in every foreign key ``(tenant_id, x_id) → (tenant_id, id)``, and ``tenant_table()`` puts it behind the wall.

Name search uses pg_trgm GIN indexes on ``person.name``/``person.kana``; ``btree_gin`` lets ``tenant_id`` lead
those GIN indexes too (both extensions are trusted: the database owner may create them). The database uses the
builtin C.UTF-8 locale, so trigrams are made of kana and kanji. Queries of one or two characters cannot use a
trigram index; ILIKE still answers them (by scanning the tenant's rows).

The DDL is frozen here as SQL (written out from core/cases/models.py when this revision was made), so later edits
to the models never change what this revision does.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from alembic import op

from core.tenancy.ddl import tenant_table

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TABLES = (
    "agency", "agency_staff", "household", "person", "household_membership", "support_case", "case_status_change",
    "case_assignee", "case_agency", "consent", "assessment", "assessment_item", "support_plan", "plan_role",
    "progress_record", "evaluation", "referral", "case_access_grant",
)

APPEND_ONLY = ("case_status_change", "case_access_grant")

DDL = (
    # -- agency
    """
CREATE TABLE agency (
    tenant_id VARCHAR(6) NOT NULL,
    name VARCHAR(100) NOT NULL,
    kind VARCHAR(100),
    field VARCHAR(20),
    contact VARCHAR(200),
    active BOOLEAN NOT NULL,
    id UUID NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    CONSTRAINT pk_agency PRIMARY KEY (tenant_id, id)
)
    """,
    # -- agency_staff
    """
CREATE TABLE agency_staff (
    tenant_id VARCHAR(6) NOT NULL,
    agency_id UUID NOT NULL,
    user_sub VARCHAR(64) NOT NULL,
    display_name VARCHAR(100),
    id UUID NOT NULL,
    CONSTRAINT pk_agency_staff PRIMARY KEY (tenant_id, id),
    CONSTRAINT fk_agency_staff_tenant_id_agency_id_agency FOREIGN KEY(tenant_id, agency_id) REFERENCES agency (tenant_id, id)
)
    """,
    # -- household
    """
CREATE TABLE household (
    tenant_id VARCHAR(6) NOT NULL,
    label VARCHAR(100) NOT NULL,
    address VARCHAR(200),
    note TEXT,
    id UUID NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    CONSTRAINT pk_household PRIMARY KEY (tenant_id, id)
)
    """,
    # -- person
    """
CREATE TABLE person (
    tenant_id VARCHAR(6) NOT NULL,
    name VARCHAR(100) NOT NULL,
    kana VARCHAR(100) NOT NULL,
    birth_date DATE,
    sex VARCHAR(10),
    address VARCHAR(200),
    phone VARCHAR(40),
    contact_note VARCHAR(200),
    id UUID NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    CONSTRAINT pk_person PRIMARY KEY (tenant_id, id)
)
    """,
    # -- household_membership
    """
CREATE TABLE household_membership (
    tenant_id VARCHAR(6) NOT NULL,
    household_id UUID NOT NULL,
    person_id UUID NOT NULL,
    relationship VARCHAR(40) NOT NULL,
    valid_from DATE NOT NULL,
    valid_to DATE,
    id UUID NOT NULL,
    CONSTRAINT pk_household_membership PRIMARY KEY (tenant_id, id),
    CONSTRAINT fk_household_membership_tenant_id_household_id_household FOREIGN KEY(tenant_id, household_id) REFERENCES household (tenant_id, id),
    CONSTRAINT fk_household_membership_tenant_id_person_id_person FOREIGN KEY(tenant_id, person_id) REFERENCES person (tenant_id, id)
)
    """,
    "CREATE INDEX ix_household_membership_tenant_id_household_id ON household_membership (tenant_id, household_id)",
    "CREATE UNIQUE INDEX uq_household_membership_current ON household_membership (tenant_id, person_id) WHERE valid_to IS NULL",
    # -- support_case
    """
CREATE TABLE support_case (
    tenant_id VARCHAR(6) NOT NULL,
    case_number VARCHAR(20) NOT NULL,
    household_id UUID NOT NULL,
    person_id UUID NOT NULL,
    status VARCHAR(20) NOT NULL,
    received_on DATE NOT NULL,
    receiving_agency_id UUID,
    receiving_staff VARCHAR(100) NOT NULL,
    route VARCHAR(20) NOT NULL,
    visitor_name VARCHAR(100),
    visitor_relation VARCHAR(40),
    problems VARCHAR(20)[] NOT NULL,
    problem_other VARCHAR(200),
    fields VARCHAR(20)[] NOT NULL,
    tags VARCHAR(40)[] NOT NULL,
    summary TEXT,
    consent_at_intake BOOLEAN NOT NULL,
    review_on DATE,
    status_reason VARCHAR(1000),
    closed_on DATE,
    created_by VARCHAR(64) NOT NULL,
    id UUID NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    CONSTRAINT pk_support_case PRIMARY KEY (tenant_id, id),
    CONSTRAINT fk_support_case_tenant_id_household_id_household FOREIGN KEY(tenant_id, household_id) REFERENCES household (tenant_id, id),
    CONSTRAINT fk_support_case_tenant_id_person_id_person FOREIGN KEY(tenant_id, person_id) REFERENCES person (tenant_id, id),
    CONSTRAINT fk_support_case_tenant_id_receiving_agency_id_agency FOREIGN KEY(tenant_id, receiving_agency_id) REFERENCES agency (tenant_id, id)
)
    """,
    "CREATE INDEX ix_support_case_tenant_id_household_id ON support_case (tenant_id, household_id)",
    "CREATE INDEX ix_support_case_tenant_id_received_on ON support_case (tenant_id, received_on)",
    "CREATE INDEX ix_support_case_tenant_id_status ON support_case (tenant_id, status)",
    "CREATE UNIQUE INDEX uq_support_case_tenant_id_case_number ON support_case (tenant_id, case_number)",
    # -- case_status_change
    """
CREATE TABLE case_status_change (
    tenant_id VARCHAR(6) NOT NULL,
    case_id UUID NOT NULL,
    from_status VARCHAR(20),
    to_status VARCHAR(20) NOT NULL,
    reason VARCHAR(1000),
    changed_by VARCHAR(64) NOT NULL,
    changed_at TIMESTAMP WITH TIME ZONE NOT NULL,
    id UUID NOT NULL,
    CONSTRAINT pk_case_status_change PRIMARY KEY (tenant_id, id),
    CONSTRAINT fk_case_status_change_tenant_id_case_id_support_case FOREIGN KEY(tenant_id, case_id) REFERENCES support_case (tenant_id, id)
)
    """,
    "CREATE INDEX ix_case_status_change_tenant_id_case_id ON case_status_change (tenant_id, case_id)",
    # -- case_assignee
    """
CREATE TABLE case_assignee (
    tenant_id VARCHAR(6) NOT NULL,
    case_id UUID NOT NULL,
    user_sub VARCHAR(64) NOT NULL,
    display_name VARCHAR(100),
    role VARCHAR(10) NOT NULL,
    assigned_at TIMESTAMP WITH TIME ZONE NOT NULL,
    ended_at TIMESTAMP WITH TIME ZONE,
    id UUID NOT NULL,
    CONSTRAINT pk_case_assignee PRIMARY KEY (tenant_id, id),
    CONSTRAINT fk_case_assignee_tenant_id_case_id_support_case FOREIGN KEY(tenant_id, case_id) REFERENCES support_case (tenant_id, id)
)
    """,
    "CREATE INDEX ix_case_assignee_tenant_id_case_id ON case_assignee (tenant_id, case_id)",
    "CREATE INDEX ix_case_assignee_tenant_id_user_sub ON case_assignee (tenant_id, user_sub)",
    # -- case_agency
    """
CREATE TABLE case_agency (
    tenant_id VARCHAR(6) NOT NULL,
    case_id UUID NOT NULL,
    agency_id UUID NOT NULL,
    role VARCHAR(200),
    consent_id UUID,
    shared_by VARCHAR(64) NOT NULL,
    shared_at TIMESTAMP WITH TIME ZONE NOT NULL,
    ended_at TIMESTAMP WITH TIME ZONE,
    ended_reason VARCHAR(200),
    id UUID NOT NULL,
    CONSTRAINT pk_case_agency PRIMARY KEY (tenant_id, id),
    CONSTRAINT fk_case_agency_tenant_id_case_id_support_case FOREIGN KEY(tenant_id, case_id) REFERENCES support_case (tenant_id, id),
    CONSTRAINT fk_case_agency_tenant_id_agency_id_agency FOREIGN KEY(tenant_id, agency_id) REFERENCES agency (tenant_id, id)
)
    """,
    "CREATE INDEX ix_case_agency_tenant_id_agency_id ON case_agency (tenant_id, agency_id)",
    "CREATE INDEX ix_case_agency_tenant_id_case_id ON case_agency (tenant_id, case_id)",
    # -- consent
    """
CREATE TABLE consent (
    tenant_id VARCHAR(6) NOT NULL,
    case_id UUID NOT NULL,
    person_id UUID,
    given_on DATE NOT NULL,
    expires_on DATE,
    purpose VARCHAR(500) NOT NULL,
    agency_ids UUID[] NOT NULL,
    meeting_kinds VARCHAR(40)[] NOT NULL,
    items VARCHAR(20)[] NOT NULL,
    method VARCHAR(20),
    recorded_by VARCHAR(64) NOT NULL,
    revoked_on DATE,
    revoked_reason VARCHAR(500),
    id UUID NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    CONSTRAINT pk_consent PRIMARY KEY (tenant_id, id),
    CONSTRAINT fk_consent_tenant_id_case_id_support_case FOREIGN KEY(tenant_id, case_id) REFERENCES support_case (tenant_id, id),
    CONSTRAINT fk_consent_tenant_id_person_id_person FOREIGN KEY(tenant_id, person_id) REFERENCES person (tenant_id, id)
)
    """,
    "CREATE INDEX ix_consent_tenant_id_case_id ON consent (tenant_id, case_id)",
    # -- assessment
    """
CREATE TABLE assessment (
    tenant_id VARCHAR(6) NOT NULL,
    case_id UUID NOT NULL,
    assessed_on DATE NOT NULL,
    summary TEXT,
    recorded_by VARCHAR(64) NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    id UUID NOT NULL,
    CONSTRAINT pk_assessment PRIMARY KEY (tenant_id, id),
    CONSTRAINT fk_assessment_tenant_id_case_id_support_case FOREIGN KEY(tenant_id, case_id) REFERENCES support_case (tenant_id, id)
)
    """,
    "CREATE INDEX ix_assessment_tenant_id_case_id ON assessment (tenant_id, case_id)",
    # -- assessment_item
    """
CREATE TABLE assessment_item (
    tenant_id VARCHAR(6) NOT NULL,
    assessment_id UUID NOT NULL,
    person_id UUID NOT NULL,
    field VARCHAR(20),
    problem VARCHAR(1000) NOT NULL,
    id UUID NOT NULL,
    CONSTRAINT pk_assessment_item PRIMARY KEY (tenant_id, id),
    CONSTRAINT fk_assessment_item_tenant_id_assessment_id_assessment FOREIGN KEY(tenant_id, assessment_id) REFERENCES assessment (tenant_id, id),
    CONSTRAINT fk_assessment_item_tenant_id_person_id_person FOREIGN KEY(tenant_id, person_id) REFERENCES person (tenant_id, id)
)
    """,
    "CREATE INDEX ix_assessment_item_tenant_id_assessment_id ON assessment_item (tenant_id, assessment_id)",
    # -- support_plan
    """
CREATE TABLE support_plan (
    tenant_id VARCHAR(6) NOT NULL,
    case_id UUID NOT NULL,
    version SMALLINT NOT NULL,
    goals TEXT NOT NULL,
    review_on DATE,
    agreed_on DATE,
    agreed_note VARCHAR(500),
    recorded_by VARCHAR(64) NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    id UUID NOT NULL,
    CONSTRAINT pk_support_plan PRIMARY KEY (tenant_id, id),
    CONSTRAINT fk_support_plan_tenant_id_case_id_support_case FOREIGN KEY(tenant_id, case_id) REFERENCES support_case (tenant_id, id)
)
    """,
    "CREATE UNIQUE INDEX uq_support_plan_tenant_id_case_id_version ON support_plan (tenant_id, case_id, version)",
    # -- plan_role
    """
CREATE TABLE plan_role (
    tenant_id VARCHAR(6) NOT NULL,
    plan_id UUID NOT NULL,
    agency_id UUID,
    role VARCHAR(200) NOT NULL,
    actions VARCHAR(2000),
    id UUID NOT NULL,
    CONSTRAINT pk_plan_role PRIMARY KEY (tenant_id, id),
    CONSTRAINT fk_plan_role_tenant_id_plan_id_support_plan FOREIGN KEY(tenant_id, plan_id) REFERENCES support_plan (tenant_id, id),
    CONSTRAINT fk_plan_role_tenant_id_agency_id_agency FOREIGN KEY(tenant_id, agency_id) REFERENCES agency (tenant_id, id)
)
    """,
    "CREATE INDEX ix_plan_role_tenant_id_plan_id ON plan_role (tenant_id, plan_id)",
    # -- progress_record
    """
CREATE TABLE progress_record (
    tenant_id VARCHAR(6) NOT NULL,
    case_id UUID NOT NULL,
    recorded_on DATE NOT NULL,
    kind VARCHAR(20) NOT NULL,
    agency_id UUID,
    body TEXT NOT NULL,
    recorded_by VARCHAR(64) NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    id UUID NOT NULL,
    CONSTRAINT pk_progress_record PRIMARY KEY (tenant_id, id),
    CONSTRAINT fk_progress_record_tenant_id_case_id_support_case FOREIGN KEY(tenant_id, case_id) REFERENCES support_case (tenant_id, id),
    CONSTRAINT fk_progress_record_tenant_id_agency_id_agency FOREIGN KEY(tenant_id, agency_id) REFERENCES agency (tenant_id, id)
)
    """,
    "CREATE INDEX ix_progress_record_tenant_id_case_id ON progress_record (tenant_id, case_id, recorded_on)",
    # -- evaluation
    """
CREATE TABLE evaluation (
    tenant_id VARCHAR(6) NOT NULL,
    case_id UUID NOT NULL,
    evaluated_on DATE NOT NULL,
    achievement VARCHAR(20) NOT NULL,
    summary TEXT NOT NULL,
    next_step VARCHAR(20) NOT NULL,
    recorded_by VARCHAR(64) NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    id UUID NOT NULL,
    CONSTRAINT pk_evaluation PRIMARY KEY (tenant_id, id),
    CONSTRAINT fk_evaluation_tenant_id_case_id_support_case FOREIGN KEY(tenant_id, case_id) REFERENCES support_case (tenant_id, id)
)
    """,
    "CREATE INDEX ix_evaluation_tenant_id_case_id ON evaluation (tenant_id, case_id)",
    # -- referral
    """
CREATE TABLE referral (
    tenant_id VARCHAR(6) NOT NULL,
    case_id UUID NOT NULL,
    from_agency_id UUID,
    to_agency_id UUID NOT NULL,
    reason VARCHAR(1000) NOT NULL,
    status VARCHAR(10) NOT NULL,
    response_reason VARCHAR(1000),
    referred_by VARCHAR(64) NOT NULL,
    referred_at TIMESTAMP WITH TIME ZONE NOT NULL,
    responded_by VARCHAR(64),
    responded_at TIMESTAMP WITH TIME ZONE,
    id UUID NOT NULL,
    CONSTRAINT pk_referral PRIMARY KEY (tenant_id, id),
    CONSTRAINT fk_referral_tenant_id_case_id_support_case FOREIGN KEY(tenant_id, case_id) REFERENCES support_case (tenant_id, id),
    CONSTRAINT fk_referral_tenant_id_from_agency_id_agency FOREIGN KEY(tenant_id, from_agency_id) REFERENCES agency (tenant_id, id),
    CONSTRAINT fk_referral_tenant_id_to_agency_id_agency FOREIGN KEY(tenant_id, to_agency_id) REFERENCES agency (tenant_id, id)
)
    """,
    "CREATE INDEX ix_referral_tenant_id_case_id ON referral (tenant_id, case_id)",
    "CREATE INDEX ix_referral_tenant_id_to_agency_id ON referral (tenant_id, to_agency_id, status)",
    # -- case_access_grant
    """
CREATE TABLE case_access_grant (
    tenant_id VARCHAR(6) NOT NULL,
    case_id UUID NOT NULL,
    user_sub VARCHAR(64) NOT NULL,
    display_name VARCHAR(100),
    reason VARCHAR(1000) NOT NULL,
    granted_at TIMESTAMP WITH TIME ZONE NOT NULL,
    expires_at TIMESTAMP WITH TIME ZONE NOT NULL,
    id UUID NOT NULL,
    CONSTRAINT pk_case_access_grant PRIMARY KEY (tenant_id, id),
    CONSTRAINT fk_case_access_grant_tenant_id_case_id_support_case FOREIGN KEY(tenant_id, case_id) REFERENCES support_case (tenant_id, id)
)
    """,
    "CREATE INDEX ix_case_access_grant_tenant_id_granted_at ON case_access_grant (tenant_id, granted_at)",
    "CREATE INDEX ix_case_access_grant_tenant_id_user_sub ON case_access_grant (tenant_id, user_sub, case_id)",
)

STATUSES = "'intake','assessment','planning','decided','supporting','evaluation','closed','suspended'"

CHECKS = (
    f"ALTER TABLE support_case ADD CONSTRAINT ck_support_case_status CHECK (status IN ({STATUSES}))",
    "ALTER TABLE support_case ADD CONSTRAINT ck_support_case_summary_length CHECK (char_length(summary) <= 4000)",
    "ALTER TABLE household_membership ADD CONSTRAINT ck_household_membership_span "
    "CHECK (valid_to IS NULL OR valid_to >= valid_from)",
    "ALTER TABLE referral ADD CONSTRAINT ck_referral_status CHECK (status IN ('pending','accepted','declined'))",
    "ALTER TABLE consent ADD CONSTRAINT ck_consent_span CHECK (expires_on IS NULL OR expires_on >= given_on)",
    # Search: partial matches on name and kana (trigram GIN, tenant first), tags and fields (array GIN).
    "CREATE INDEX ix_person_tenant_id_name_trgm ON person USING gin (tenant_id, name gin_trgm_ops)",
    "CREATE INDEX ix_person_tenant_id_kana_trgm ON person USING gin (tenant_id, kana gin_trgm_ops)",
    "CREATE INDEX ix_support_case_tenant_id_tags ON support_case USING gin (tenant_id, tags)",
    "CREATE INDEX ix_support_case_tenant_id_fields ON support_case USING gin (tenant_id, fields)",
    "CREATE INDEX ix_household_membership_tenant_id_person_id ON household_membership (tenant_id, person_id)",
)


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
    for statement in DDL + CHECKS:
        op.execute(statement)
    for table in TABLES:
        # History the app only appends to: status changes and break-the-glass openings are never rewritten.
        tenant_table(table, "SELECT, INSERT" if table in APPEND_ONLY else "SELECT, INSERT, UPDATE, DELETE")


def downgrade() -> None:
    for table in reversed(TABLES):
        op.execute(f"DROP TABLE IF EXISTS {table}")
