"""JSON API of the registry (public facts about Kochi's municipalities; no personal data)."""

from __future__ import annotations

from dataclasses import dataclass

from litestar import Controller, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath

from tenants.registry import InvalidLocalGovernmentCode, Municipality, find, load_registry


@dataclass
class MunicipalityOut:
    code: str
    name: str
    kana: str
    romaji: str
    kind: str

    @classmethod
    def of(cls, m: Municipality) -> "MunicipalityOut":
        return cls(m.code, m.name, m.kana, m.romaji, m.kind.value)


class TenantRegistryController(Controller):
    path = "/api/registry"
    tags = ["registry"]

    @get("/", sync_to_thread=False)
    def list_municipalities(self) -> list[MunicipalityOut]:
        """The 34 municipalities of Kochi and the prefecture."""
        return [MunicipalityOut.of(m) for m in load_registry()]

    @get("/{code:str}", sync_to_thread=False)
    def get_municipality(self, code: FromPath[str]) -> MunicipalityOut:
        try:
            return MunicipalityOut.of(find(code))
        except InvalidLocalGovernmentCode as exc:
            raise NotFoundException(detail=str(exc)) from None
