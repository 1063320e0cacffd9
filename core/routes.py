"""Every route handler the app serves, gathered from the domains (the isolation suite walks the same list)."""

from __future__ import annotations


def route_handlers() -> list:
    from core.auth.routes import AuthController
    from core.cases.api import cases_api_router
    from core.grants.api import grants_api_router, prefecture_api_router
    from core.meetings.api import meetings_api_router
    from core.prefecture.api import prefecture_aggregates_router
    from core.programs.api import programs_api_router
    from tenants.api import TenantRegistryController
    from ui.grants.controller import GrantsController, PrefectureGrantsController
    from ui.cases.controller import case_pages
    from ui.home.controller import HomeController
    from ui.meetings.controller import MeetingsController
    from ui.plugins.controller import PluginAdminController, VendorSeatController
    from ui.prefecture.controller import PrefectureController
    from ui.prefecture.survey import SurveyAnswerController, SurveyLinkController
    from ui.programs.controller import CommunityController, ProgramsController, ResourcesController

    return [AuthController, HomeController, TenantRegistryController, grants_api_router(), prefecture_api_router(), prefecture_aggregates_router(),
            GrantsController, PrefectureGrantsController,
            PluginAdminController, VendorSeatController,  # plugin admin pages; plugins' own pages: core/app.py
            PrefectureController, SurveyAnswerController, SurveyLinkController,
            cases_api_router(), *case_pages(), meetings_api_router(), MeetingsController,
            programs_api_router(), ProgramsController, CommunityController, ResourcesController]
