"""相談支援 (consultation support): households and people, cases, consent, assessment, plan, records, closure.

Shape: ``models.py`` (tables), ``schemas.py`` (code lists, DTOs, validation), ``service.py`` (rules, consent,
transitions, access), ``workflow.py`` (the transition table), ``search.py`` (list, CSV, counts), ``extensions.py``
(what plugins add: intake fields, workflow steps, events), ``api.py`` (JSON under /api/cases, /api/households, /api/agencies, /api/referrals,
/api/consents). The HTML side lives in ``ui/cases``.
"""
