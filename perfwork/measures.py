"""The measure vocabulary shared by every source: crime categories, outcome groups, stop and search.

A measure is a string. Crimes use the police.uk category slugs; outcomes are ``<category>:<outcome group>``
(how many of that month's crimes of the category ended in the group, by the crime's month); stop and search
is ``stop-and-search`` plus ``stop-and-search/<result>`` (a different separator, so that outcome patterns
such as ``*:caution`` never pick up searches).
"""

from __future__ import annotations

# police.uk "Crime type" label -> slug, in the order police.uk lists them.
CRIME_LABELS: dict[str, str] = {
    "Anti-social behaviour": "anti-social-behaviour",
    "Bicycle theft": "bicycle-theft",
    "Burglary": "burglary",
    "Criminal damage and arson": "criminal-damage-arson",
    "Drugs": "drugs",
    "Other theft": "other-theft",
    "Possession of weapons": "possession-of-weapons",
    "Public order": "public-order",
    "Robbery": "robbery",
    "Shoplifting": "shoplifting",
    "Theft from the person": "theft-from-the-person",
    "Vehicle crime": "vehicle-crime",
    "Violence and sexual offences": "violent-crime",
    "Other crime": "other-crime",
}
CRIME_CATEGORIES: tuple[str, ...] = tuple(CRIME_LABELS.values())
ASB = "anti-social-behaviour"
# Crimes in the police sense: ASB incidents are not notifiable offences and carry no outcome.
NOTIFIABLE_CATEGORIES: tuple[str, ...] = tuple(c for c in CRIME_CATEGORIES if c != ASB)

# police.uk outcome text -> outcome group. Court results follow a charge or summons, so they count as charged.
OUTCOME_GROUPS_BY_TEXT: dict[str, str] = {
    "Suspect charged": "charged",
    "Suspect charged as part of another case": "charged",
    "Awaiting court outcome": "charged",
    "Court result unavailable": "charged",
    "Court case unable to proceed": "charged",
    "Defendant found not guilty": "charged",
    "Defendant sent to Crown Court": "charged",
    "Offender sent to prison": "charged",
    "Offender given suspended prison sentence": "charged",
    "Offender fined": "charged",
    "Offender given community sentence": "charged",
    "Offender given conditional discharge": "charged",
    "Offender given absolute discharge": "charged",
    "Offender ordered to pay compensation": "charged",
    "Offender deprived of property": "charged",
    "Offender otherwise dealt with": "charged",
    "Offender given a caution": "caution",
    "Offender given a drugs possession warning": "caution",
    "Offender given penalty notice": "caution",
    "Local resolution": "community_resolution",
    "Investigation complete; no suspect identified": "no_suspect",
    "Unable to prosecute suspect": "unable_to_prosecute",
    "Formal action is not in the public interest": "unable_to_prosecute",
    "Further investigation is not in the public interest": "unable_to_prosecute",
    "Further action is not in the public interest": "unable_to_prosecute",
    "Action to be taken by another organisation": "other_agency",
    "Under investigation": "under_investigation",
    "Status update unavailable": "unavailable",
}
OUTCOME_GROUPS: tuple[str, ...] = (
    "charged",
    "caution",
    "community_resolution",
    "no_suspect",
    "unable_to_prosecute",
    "other_agency",
    "under_investigation",
    "unavailable",
)
# Positive outcomes in the Home Office sense: charge/summons plus formal out-of-court disposals.
POSITIVE_OUTCOME_GROUPS: tuple[str, ...] = ("charged", "caution", "community_resolution")

STOP_AND_SEARCH = "stop-and-search"
# police.uk stop-and-search "Outcome" text -> result suffix.
STOP_SEARCH_RESULTS: dict[str, str] = {
    "Arrest": "arrest",
    "Suspect arrested": "arrest",
    "Community resolution": "community_resolution",
    "Caution (simple or conditional)": "caution",
    "Khat or Cannabis warning": "drugs_warning",
    "Penalty Notice for Disorder": "penalty_notice",
    "Summons / charged by post": "summons",
    "Suspect summonsed to court": "summons",
    "A no further action disposal": "no_further_action",
    "Nothing found - no further action": "no_further_action",
    "Offender given penalty notice": "penalty_notice",
    "Offender cautioned": "caution",
    "Local resolution": "community_resolution",
    "Article found - Detailed outcome unavailable": "other",
}


def outcome_measure(category: str, group: str) -> str:
    """The measure name for crimes of ``category`` that ended in outcome ``group``."""
    return f"{category}:{group}"


def stop_search_measure(result: str) -> str:
    """The measure name for searches with ``result`` (a STOP_SEARCH_RESULTS value, or ``object_found``)."""
    return f"{STOP_AND_SEARCH}/{result}"


def known_measures() -> tuple[str, ...]:
    """Every measure name perfwork understands, for validating frameworks."""
    out = list(CRIME_CATEGORIES)
    out += [outcome_measure(c, g) for c in NOTIFIABLE_CATEGORIES for g in OUTCOME_GROUPS]
    out.append(STOP_AND_SEARCH)
    results = {stop_search_measure(r) for r in STOP_SEARCH_RESULTS.values()} | {stop_search_measure("object_found")}
    out += sorted(results)
    return tuple(out)
