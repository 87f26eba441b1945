"""Countries as ISO 3166-1 alpha-2 codes, and the programme's groupings of them.

EU Member States host AI Factories (Reg. 2021/1173 Art. 9); non-EU Participating States of the EuroHPC
Joint Undertaking may take part where a call admits them (e.g. AI Factory Antennas).
"""

EU_MEMBER_STATES = {
    "AT": "Austria", "BE": "Belgium", "BG": "Bulgaria", "CY": "Cyprus", "CZ": "Czechia", "DE": "Germany",
    "DK": "Denmark", "EE": "Estonia", "ES": "Spain", "FI": "Finland", "FR": "France", "GR": "Greece",
    "HR": "Croatia", "HU": "Hungary", "IE": "Ireland", "IT": "Italy", "LT": "Lithuania", "LU": "Luxembourg",
    "LV": "Latvia", "MT": "Malta", "NL": "Netherlands", "PL": "Poland", "PT": "Portugal", "RO": "Romania",
    "SE": "Sweden", "SI": "Slovenia", "SK": "Slovakia",
}  # fmt: skip

# Participating States of the EuroHPC JU that are not EU Member States.
NON_EU_PARTICIPATING_STATES = {
    "CH": "Switzerland", "IS": "Iceland", "ME": "Montenegro", "MK": "North Macedonia", "MD": "Moldova",
    "NO": "Norway", "RS": "Serbia", "TR": "Türkiye", "GB": "United Kingdom",
}  # fmt: skip

PARTICIPATING_STATES = {**EU_MEMBER_STATES, **NON_EU_PARTICIPATING_STATES}

_OTHER = {
    "AD": "Andorra", "AL": "Albania", "BA": "Bosnia and Herzegovina", "BY": "Belarus", "FO": "Faroe Islands",
    "GE": "Georgia", "GI": "Gibraltar", "LI": "Liechtenstein", "MC": "Monaco", "SM": "San Marino",
    "UA": "Ukraine", "VA": "Holy See", "XK": "Kosovo", "AM": "Armenia", "AZ": "Azerbaijan", "IL": "Israel",
    "US": "United States", "CA": "Canada", "JP": "Japan", "KR": "Korea, Republic of", "CN": "China",
    "IN": "India", "AU": "Australia", "NZ": "New Zealand", "BR": "Brazil", "SG": "Singapore",
    "TW": "Taiwan", "ZA": "South Africa", "MX": "Mexico", "AR": "Argentina", "CL": "Chile", "TN": "Tunisia",
    "MA": "Morocco", "EG": "Egypt", "RU": "Russian Federation",
}  # fmt: skip

COUNTRIES = dict(sorted({**PARTICIPATING_STATES, **_OTHER}.items(), key=lambda kv: kv[1]))
COUNTRY_CHOICES = list(COUNTRIES.items())


def country_name(code: str) -> str:
    return COUNTRIES.get(code, code)


def is_eu_member_state(code: str) -> bool:
    return code in EU_MEMBER_STATES


def is_participating_state(code: str) -> bool:
    return code in PARTICIPATING_STATES
