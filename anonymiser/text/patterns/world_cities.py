"""Large world cities and capitals (general knowledge), found only in place context.

"in Ankara", "uit Paramaribo", "fled Aleppo": a listed city after a place preposition or
a verb of moving is a place of birth or residence. Dutch and English spellings.
"""

from __future__ import annotations

import re

from anonymiser.text import folding
from anonymiser.text.findings import Finding

_CITIES = """
amsterdam rotterdam brussel brussels bruxelles antwerpen antwerp gent ghent luik liege
brugge bruges leuven charleroi namen namur aken aachen keulen koln cologne dusseldorf
dortmund essen duisburg bochum munster hamburg berlijn berlin munchen munich frankfurt
stuttgart bremen hannover leipzig dresden neurenberg nurnberg nuremberg bonn parijs paris
lyon marseille rijsel lille toulouse nice nantes straatsburg strasbourg bordeaux
luxemburg luxembourg londen london manchester birmingham liverpool leeds glasgow
edinburgh bristol sheffield newcastle cardiff belfast dublin cork galway madrid
barcelona valencia sevilla seville malaga bilbao lissabon lisbon porto rome roma milaan
milan napels naples turijn turin florence firenze venetie venice bologna palermo genua
genoa wenen vienna graz salzburg zurich genève geneve geneva bern bazel basel lausanne
kopenhagen copenhagen stockholm goteborg gothenburg oslo bergen helsinki reykjavik
warschau warsaw krakau krakow krakow lodz wroclaw poznan gdansk szczecin lublin
katowice praag prague brno bratislava boedapest budapest boekarest bucharest cluj
sofia belgrado belgrade zagreb ljubljana sarajevo skopje tirana podgorica pristina
athene athens thessaloniki istanboel istanbul ankara izmir bursa antalya adana konya
gaziantep kayseri diyarbakir nicosia kiev kyiv kiew lviv lemberg odessa odesa kharkiv
charkov minsk vilnius riga tallinn moskou moscow sint-petersburg petersburg
tbilisi jerevan yerevan bakoe baku casablanca rabat marrakech marrakesh fez fes tanger
tangier nador agadir meknes oujda tetouan al-hoceima algiers algiers oran tunis tripoli
caïro cairo alexandrie alexandria khartoum addis abeba ababa asmara nairobi mogadishu
mogadishu kampala kigali dar lagos abuja accra dakar abidjan kinshasa luanda
johannesburg kaapstad cape durban pretoria harare lusaka maputo
damascus damascus aleppo homs latakia beiroet beirut amman jeruzalem jerusalem
tel-aviv bagdad baghdad mosul basra erbil teheran tehran isfahan shiraz tabriz mashhad
riyad riyadh jeddah mekka mecca dubai doha kabul kandahar herat islamabad karachi
lahore delhi mumbai bombay bangalore bengaluru chennai kolkata hyderabad pune dhaka
colombo kathmandu bangkok hanoi saigon jakarta surabaya bandung manilla manila
singapore singapur kuala lumpur peking beijing shanghai shenzhen guangzhou kanton
hongkong hong kong taipei seoul busan tokio tokyo osaka kyoto sydney melbourne
brisbane perth auckland wellington toronto montreal vancouver ottawa calgary
new york chicago boston washington philadelphia miami atlanta houston dallas austin
denver seattle portland san francisco los angeles san diego las vegas detroit
mexico-stad guadalajara havana bogota medellin caracas lima quito santiago
buenos aires montevideo sao paulo rio de janeiro brasilia salvador recife
paramaribo nickerie willemstad oranjestad kralendijk philipsburg georgetown
port of spain kingston santo domingo
"""
_MULTI = (
    "kuala lumpur",
    "hong kong",
    "new york",
    "san francisco",
    "los angeles",
    "san diego",
    "las vegas",
    "buenos aires",
    "sao paulo",
    "rio de janeiro",
    "port of spain",
    "santo domingo",
    "addis abeba",
    "addis ababa",
    "tel aviv",
    "cape town",
    "dar es salaam",
)
_SINGLE = frozenset(_CITIES.split()) - {"new", "york", "san", "los", "las", "de", "of", "rio"}
_NAMES = frozenset(_MULTI) | _SINGLE
_LONGEST = max(len(n.split()) for n in _NAMES)
_PLACE = re.compile(
    r"\b(?:in|uit|from|naar|to|te|near|bij|fled|left|verliet|ontvlucht|ontvluchtte)\s+"
    r"(?:(?:het|de|the)\s+)?"
    rf"(?P<place>[\w-]+(?:[ \t]+[\w-]+){{0,{_LONGEST - 1}}})"
)
_WORD = re.compile(r"[\w-]+")


def find(text: str) -> list[Finding]:
    """Listed world cities, written with a capital (or anywhere in lower-case text)."""
    folded = folding.fold(text)
    lowercase = text == text.lower()
    found: list[Finding] = []
    for m in _PLACE.finditer(folded):
        words = list(_WORD.finditer(folded, m.start("place"), m.end("place")))
        for size in range(len(words), 0, -1):
            name = " ".join(w.group() for w in words[:size])
            if name in _NAMES:
                start, end = words[0].start(), words[size - 1].end()
                if lowercase or text[start].isupper():
                    found.append(Finding("city", start, end))
                break
    return found
