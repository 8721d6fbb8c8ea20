"""Vendor profiles: what we know about each library system's SIP2 server, as data.

A profile gives connection defaults (charset, terminator, error detection) and tells the mapping layer how
to read what the server sends (which fields carry routing, what CY holds). Every quirk names its source.
Where we have no public source the profile says so (`verified=False`) and keeps the standard's
behaviour: confirm it with `kiosk sip2 probe` and a test checkin on site before going live.

Sources (public; read, not copied):
- [KOHA-MSG]   Koha-Community/Koha, C4/SIP/Sip/MsgType.pm (checkin response: CY = hold patron *barcode*,
               DA from the account's ``da_field_template``, CT only when there is a destination unless the
               account sets ``ct_always_send``; CV from the hold/transit state; ``handle_checkout`` passes
               nb due date on only for no-block checkouts; ``handle_request_acs_resend`` cuts AY/AZ off
               the last reply and writes it again, which numbers it 0).
- [KOHA-CONF]  Koha's SIPconfig.xml: per-login ``encoding`` (e.g. "utf8"), ``delimiter``, ``error-detect``;
               the login's institution is the branch the transaction is recorded at (koha mailing list
               config example, https://www.mail-archive.com/koha@lists.katipo.co.nz/msg17535.html).
- [NET-SERVER] Net::Server::PreFork (metacpan), the server Koha's and Evergreen's SIPServer run on: one
               forked child per connection, at most ``max_servers`` (default 50) for the whole server, not
               per login; Koha's Debian template (SIPconfig.xml ``server-params``) sets no max_servers.
- [EG-SIP]     Evergreen's SIPServer (evergreen-library-system/SIPServer, Sip/MsgType.pm): same lineage
               as Koha's C4/SIP (both grew from the OpenNCIP SIPServer); CT/CY/DA written the same way
               (CY = hold patron barcode).
- [FOLIO]      folio-org/edge-sip2 README: per-tenant ``charset`` default "IBM850" (cp850),
               ``messageDelimiter`` default "\\r", ``errorDetectionEnabled`` default false; native TLS via
               ``netServerOptions``; login CP must be the service point UUID; the README lists Item
               Information, Hold, Renew and Renew All as not implemented in the version we read.
- [FOLIO-CHECKIN] folio-org/edge-sip2 ``templates/CheckinResponse.ftl`` and
               ``CirculationRepository.performCheckinCommand``: the 10 carries AQ (the item's location
               *name*), AA (the patron who had the item), CS and CV; CV is 01 for a request waiting at this
               service point, 02 for an item in transit to fill a request, 04 for an item in transit
               otherwise. No CT, CY or DA. Newer versions add the in-transit destination service point's
               *name* in an extension field whose code we have not confirmed, so it is not read.

How a checkin response (10) is read, per profile: each routing role names the field that carries it
(``destination_field`` CT, ``alert_type_field`` CV, ``hold_patron_id_field`` CY, ``hold_patron_name_field``
DA by default); an empty name means the system does not send it, and the field is then ignored even when
present. ``cy_is`` says what the hold patron id is: only a "card" number is passed on (to the staff slip);
an "internal" database id, or one we cannot vouch for ("unknown"), is not, so staff never look up a
patron by a number that is not a card. AQ (permanent location) and AG (print line) are not routing in any
profile we have sources for: Koha's AQ is the home branch even for floating items that stay where they
are returned, and FOLIO's AQ is a location name.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class VendorProfile:
    name: str
    title: str
    charset: str = "utf-8"
    # Text fields not valid in `charset` are read in this one; "" = replacement marks (U+FFFD) only.
    fallback_charset: str = "iso-8859-1"
    terminator: str = "\r"  # what we send after each frame; we accept CR, LF and CRLF from any server
    error_detection: bool = True
    # nb due date of an *online* checkout/renewal: "blank" (18 spaces, the standard's "none") or
    # "transaction" (the transaction's own timestamp) for servers that parse the field strictly.
    # Offline replays always send the due date the patron was given.
    nb_due_date: str = "blank"
    # Does the 64/24 echo the patron id we sent? False where it answers with the card number for a
    # user name (so the reply is not matched on the patron).
    patron_echoed_in_info: bool = True
    # Refusal texts: the languages to read them in (refusals.LANGUAGES) and this system's own patterns,
    # (RefusalReason value, regex), checked first.
    refusal_languages: tuple[str, ...] = ("nb", "sv", "fi", "en")
    refusal_patterns: tuple[tuple[str, str], ...] = ()
    # Checkin (10): the field that carries each part of the route; "" = this system does not send it.
    destination_field: str = "CT"  # the library/branch code the item goes to
    alert_type_field: str = "CV"  # 01 hold here, 02 hold elsewhere, 03 ILL, 04 send elsewhere, 99 other
    hold_patron_id_field: str = "CY"
    hold_patron_name_field: str = "DA"
    cy_is: str = "card"  # what the hold patron id holds: "card" (number), "internal" (db id) or "unknown"
    location_code_is: str = "branch"  # what 93's CP should be: "branch" code or "service-point" UUID
    quirks: tuple[str, ...] = ()  # plain words, each with its source tag
    sources: tuple[str, ...] = ()
    verified: bool = False  # True only where every line above has a public source we read
    notes: str = ""
    unsupported: tuple[str, ...] = field(default=())  # messages known not to work (SIP2 codes)
    # Connections per account: the pool's ceiling (`pool_size`) and what it opens at start. What the
    # server allows is a server-wide number of workers in every system we have a source for, shared by
    # all kiosks and staff terminals: a ceiling of 10 finishes a stack of ten in one round trip, and the
    # pool keeps to what the server serves (issue 10, finding 4; issue 17).
    pool_size: int = 2
    pool_min_size: int = 1

    def __post_init__(self) -> None:
        if self.cy_is not in CY_MEANINGS:
            raise ValueError(f"profile {self.name}: cy_is must be one of {', '.join(CY_MEANINGS)}")
        if self.nb_due_date not in NB_DUE_DATE_CHOICES:
            raise ValueError(
                f"profile {self.name}: nb_due_date must be one of {', '.join(NB_DUE_DATE_CHOICES)}"
            )

    @property
    def routing_fields(self) -> tuple[str, ...]:
        """The checkin fields this profile reads routing from, in role order."""
        roles = (
            self.destination_field,
            self.alert_type_field,
            self.hold_patron_id_field,
            self.hold_patron_name_field,
        )
        return tuple(code for code in roles if code)

    @property
    def hold_patron_id_is_card(self) -> bool:
        return self.cy_is == "card"


CY_MEANINGS = ("card", "internal", "unknown")
NB_DUE_DATE_CHOICES = ("blank", "transaction")


_UNKNOWN_CY = (
    "CT/CV/DA read as the standard's extensions; what CY holds is not documented, so it is not passed on "
    "as a card number (UNVERIFIED)."
)

PROFILES: dict[str, VendorProfile] = {
    p.name: p
    for p in (
        VendorProfile(
            name="generic",
            title="Generic SIP2 2.00 (the standard, nothing assumed)",
            charset="utf-8",
            quirks=("Lenient parsing of checksums, terminators and AY is always on.",),
            verified=True,
            notes="The standard's defaults; choose the charset the server's login is configured with.",
        ),
        VendorProfile(
            name="koha",
            title="Koha (C4/SIP)",
            charset="utf-8",
            cy_is="card",
            patron_echoed_in_info=False,
            quirks=(
                "Online checkouts ignore nb due date; only no-block (offline) checkouts read it [KOHA-MSG].",
                "A 97 is answered with the last reply rebuilt and numbered AY0 [KOHA-MSG].",
                "The 64 names the patron by card number even when looked up by user name [KOHA-MSG].",
                'Charset is per SIP login (encoding="utf8" or ascii) in SIPconfig.xml [KOHA-CONF].',
                "The transaction's branch is the login's institution: one login per branch [KOHA-CONF].",
                "CY is the hold patron's card number (barcode), DA follows da_field_template [KOHA-MSG].",
                "CT is only sent when the item has a destination unless ct_always_send is set [KOHA-MSG].",
                "CV 01 hold here, 02 hold at another branch (CT = pickup branch), 04 transfer (CT = where); "
                "with cv_send_00_on_success a plain return carries CV 00 [KOHA-MSG].",
                "Error detection can be switched off per login (error-detect) [KOHA-CONF].",
                "One forked server process per connection, max_servers (default 50) for all clients of the "
                "SIP server together, no limit per login [NET-SERVER]: a ceiling of 10 per kiosk, 2 opened "
                "at start; five kiosks at their ceiling fill a default server (raise max_servers) "
                "[NET-SERVER].",
            ),
            sources=("KOHA-MSG", "KOHA-CONF", "NET-SERVER"),
            pool_size=10,
            pool_min_size=2,
            verified=True,
        ),
        VendorProfile(
            name="evergreen",
            title="Evergreen (SIPServer / SIP2 mediator)",
            charset="utf-8",
            cy_is="card",
            quirks=(
                "CT/CY/DA written as in Koha's lineage; CY is the hold patron barcode [EG-SIP].",
                "Charset per account in oils_sip.xml; we assume utf-8 (not verified on a live server).",
                "SIPServer runs on Net::Server like Koha's: a server-wide number of processes, none per "
                "login [NET-SERVER]; the ceiling of 10 assumes the same (not verified on a live server).",
            ),
            sources=("EG-SIP", "NET-SERVER"),
            pool_size=10,
            pool_min_size=2,
            verified=False,
            notes="Field meanings read from SIPServer source; charset default not verified.",
        ),
        VendorProfile(
            name="folio",
            title="FOLIO (edge-sip2)",
            charset="cp850",
            fallback_charset="",  # cp850 reads every byte: nothing to fall back to
            error_detection=False,
            location_code_is="service-point",
            destination_field="",
            hold_patron_id_field="",
            hold_patron_name_field="",
            cy_is="unknown",
            quirks=(
                "Default charset IBM850 (cp850) per tenant; set utf-8 only if the tenant says so [FOLIO].",
                "Error detection is off unless errorDetectionEnabled is true for the tenant [FOLIO].",
                "Login CP must be the kiosk's service point UUID [FOLIO].",
                "Checkin routing is CV only (01 request here, 02/04 in transit); no CT/CY/DA, so an item in "
                "transit goes to staff with its alert type [FOLIO-CHECKIN].",
                "AQ in the checkin answer is a location name, not a code: not used for routing "
                "[FOLIO-CHECKIN].",
                "Native TLS is available (netServerOptions.ssl) [FOLIO].",
            ),
            sources=("FOLIO", "FOLIO-CHECKIN"),
            unsupported=("17", "15", "29", "65"),
            verified=True,
            notes="Message support grows between releases: trust the probe's BX over this list.",
        ),
        VendorProfile(
            name="quria",
            title="Axiell Quria",
            charset="utf-8",
            cy_is="unknown",
            quirks=(_UNKNOWN_CY,),
            verified=False,
            notes="UNVERIFIED: no public SIP2 documentation found. Standard behaviour assumed; run the probe "
            "and a test checkin of a held and a transit item before relying on routing.",
        ),
        VendorProfile(
            name="bibliofil",
            title="Bibliofil (Bibliotek-Systemer AS)",
            charset="iso-8859-1",
            cy_is="unknown",
            quirks=(_UNKNOWN_CY,),
            verified=False,
            notes="UNVERIFIED: no public SIP2 documentation found. Latin-1 assumed as for older Norwegian "
            "SIP2 setups; Sámi letters outside Latin-1 will be refused with a clear error until utf-8 "
            "is confirmed.",
        ),
        VendorProfile(
            name="mikromarc",
            title="Mikromarc (Bibliotekenes IT-senter)",
            charset="utf-8",
            cy_is="unknown",
            quirks=(_UNKNOWN_CY,),
            verified=False,
            notes="UNVERIFIED: no public SIP2 documentation found. Standard behaviour assumed.",
        ),
    )
}


class UnknownProfile(ValueError):
    pass


def get_profile(name: str) -> VendorProfile:
    try:
        return PROFILES[name.lower()]
    except KeyError:
        raise UnknownProfile(f"unknown SIP2 profile {name!r}; known: {', '.join(sorted(PROFILES))}") from None


__all__ = ["CY_MEANINGS", "NB_DUE_DATE_CHOICES", "PROFILES", "UnknownProfile", "VendorProfile", "get_profile"]
