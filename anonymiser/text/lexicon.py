"""Small closed word classes of Dutch and English used by the context rules."""

from __future__ import annotations

from anonymiser.text.public_words import FAMOUS_PEOPLE


def words(block: str) -> tuple[str, ...]:
    """The white-space separated words of a block of text."""
    return tuple(block.split())


# Name particles (tussenvoegsels and their foreign counterparts), lower-case.
PARTICLES: frozenset[str] = frozenset(
    words(
        """
        van de der den het 't ter ten 's la le du da di del della des von vom el bin
        ait ibn mac mc o' dos
        """
    )
)

# Function words: they end a name, place or employer run in lower-case text.
FUNCTION_WORDS: frozenset[str] = frozenset(
    words(
        """
        de het een en of maar want dus als dan dat die dit deze wat wie waar waarom
        hoe ik jij je u hij zij ze wij we jullie zij mij me mijn jouw jou uw zijn
        haar ons onze hun hen men er hier daar nu nog al ook wel niet geen heel erg
        zeer zo te tot met zonder voor na naar bij in op uit aan van om over onder
        door tegen tussen sinds vanaf tijdens per via ben bent is was waren wordt
        worden werd word heb hebt heeft had hadden kan kun kunt kon wil wilt wilde
        zal zou moet mag woon woont werk werkt ga gaat ging doe doet deed sta staat
        zit zat kom komt kwam ja nee graag alvast omdat toen terwijl zodat tenzij
        echter sindsdien inmiddels momenteel nu eigenlijk the a an and or but so if
        then that this these those what who where when why how i you he she it we
        they me him her us them my your his its our their mine am are was were be
        been being do does did have has had will would can could shall should may
        might must not no yes to of in on at by for from with without about into
        over after before since until as than too very also just still already now
        here there live lives living work works working worked moved born currently
        originally based jaar years year old oud jarige
        """
    )
)

# Role words that are followed by a person's name: "mijn collega Anna".
ROLE_WORDS: frozenset[str] = frozenset(
    words(
        """
        partner vriend vriendin man vrouw echtgenoot echtgenote zoon dochter broer
        zus zuster moeder vader collega collega's leidinggevende manager baas
        teamleider directeur coach loopbaancoach therapeut psycholoog huisarts
        dokter arts mentor buurman buurvrouw oom tante neef nicht opa oma
        schoonmoeder schoonvader husband wife boyfriend girlfriend son daughter
        brother sister mother father mom mum dad colleague boss supervisor director
        therapist doctor friend neighbour neighbor uncle aunt cousin grandmother
        grandfather fiancé fiancée fiance fiancee mevrouw meneer mevr mw dhr heer mr
        mrs ms miss dr drs ir prof
        """
    )
)

# Public figures that career-coaching clients read and quote: never a person to hide.
PUBLIC_FIGURES: tuple[str, ...] = (
    "Brené Brown", "Brene Brown", "Simon Sinek", "Stephen Covey", "Eckhart Tolle",
    "Daniel Kahneman", "Adam Grant", "Cal Newport", "James Clear", "Viktor Frankl",
    "Susan Cain", "Richard Bolles", "Carol Dweck", "Malcolm Gladwell", "Yuval Harari",
    "Dale Carnegie", "Tony Robbins", "Jordan Peterson", "Ikigai",
    *FAMOUS_PEOPLE,
)  # fmt: skip
