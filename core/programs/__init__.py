"""Programs and community building (事業・拠点、地域づくり; pillars II 参加支援 and III 地域づくり).

Where things are (the usual domain shape):

- ``models.py`` — ten tenant tables (migration 0007): hubs, programmes, weekly slots, sessions, enrolments,
  attendance, partners (volunteers / 協力事業者 / 連携団体), community activities and their notes, 地域資源.
- ``schemas.py`` — labels and form/JSON parsing with Japanese field messages.
- ``service.py`` — the rules: sessions generated from slots (public holidays skipped, idempotent), cancellation
  with a reason, enrolment through the eligibility rules, attendance of a whole group in one call, the weekly
  timetable grid, the idempotent install of a plugin's catalog, partners, activities (growth log), resources.
- ``eligibility.py`` — the applicant's facts and the rule seam; plugin rules come through the hook
  ``kyosei_check_eligibility`` via the plugin platform's ``PluginHost``.
- ``holidays.py`` — Japanese public holidays computed from the law's rules (2007–2099), tested against the
  official lists 2019–2027.
- ``counts.py`` — ``program_counts(session, fiscal_year, month=None)`` (年度): the implementation-plan counts
  the grants and prefecture domains call (keys as in ``core.grants.counts.COUNT_LABELS``).
- ``api.py`` — the JSON API under ``/api/programs`` and the roles; HTML pages are in ``ui/programs``.

Decisions:

- ``program_enrolment.case_id`` names a 相談ケース but has no foreign key, so this domain does not depend on the
  cases domain (ARCHITECTURE: cases uses no other domain, and programmes must work for people without a case).
  A later migration may add the key once both domains are settled.
- A plugin's catalog reaches a tenant only when its admin presses 「事業カタログを取り込む」 (``POST
  /programs/catalog``): the rows are then the tenant's own and can be edited; pressing again updates the rows the
  plugin installed (matched on source + code) without duplicates. Installing on enablement was not chosen because
  enablement is the plugin platform's and should not write another domain's tables.
- Holidays are computed, not listed, so the calendar does not run out; year-end closures are not public holidays
  and are handled by cancelling sessions.
"""
