"""Dutch postcode (PC4) -> province.

Source of the ranges: compiled for this project from the PostNL number plan (the first
two digits give the region, see nl.wikipedia.org "Postcodes in Nederland" and its
"Lijst van postcodes" pages) combined with the province of the places inside each
range (CBS municipality list 2023). A PC4 area lies within one municipality, but this
table works with ranges: in the few border areas where numbers of two provinces
interleave, a range is given to the province holding most of it, so a border village
may come out as its neighbour province. That is acceptable for the purpose (a coarse
region for an anonymised broadcast), never use it for addressing. Numbers not in use
inside a range map to the surrounding province.
"""

from __future__ import annotations

import bisect
import re

from anonymiser.generalise.provinces import Province

_GR = Province.GRONINGEN
_FR = Province.FRYSLAN
_DR = Province.DRENTHE
_OV = Province.OVERIJSSEL
_FL = Province.FLEVOLAND
_GE = Province.GELDERLAND
_UT = Province.UTRECHT
_NH = Province.NOORD_HOLLAND
_ZH = Province.ZUID_HOLLAND
_ZE = Province.ZEELAND
_NB = Province.NOORD_BRABANT
_LI = Province.LIMBURG

# (first PC4, last PC4, province), sorted, contiguous from 1000 to 9999.
RANGES: tuple[tuple[int, int, Province], ...] = (
    (1000, 1299, _NH),  # Amsterdam, Zaanstreek, Gooi (Hilversum 12xx)
    (1300, 1379, _FL),  # Almere
    (1380, 1389, _NH),  # Weesp
    (1390, 1393, _UT),  # Abcoude, Nigtevecht
    (1394, 1395, _NH),  # Nederhorst den Berg
    (1396, 1397, _UT),  # Baambrugge
    (1398, 1425, _NH),  # Muiden, Bussum, Naarden, Uithoorn
    (1426, 1427, _UT),  # De Hoef, Amstelhoek
    (1428, 1429, _ZH),  # Vrouwenakker (Nieuwkoop)
    (1430, 2158, _NH),  # Aalsmeer ... Haarlem, Haarlemmermeer
    (2159, 2164, _ZH),  # Kaag, Lisse
    (2165, 2165, _NH),  # Lisserbroek
    (2166, 3399, _ZH),  # Bollenstreek, Leiden, Den Haag, Rotterdam, Drechtsteden
    (3400, 3464, _UT),  # IJsselstein, Nieuwegein, Woerden
    (3465, 3466, _ZH),  # Driebruggen, Waarder
    (3467, 3769, _UT),  # Kamerik, Utrecht, Maarssen, Zeist, Soest, Baarn
    (3770, 3794, _GE),  # Barneveld, Voorthuizen
    (3795, 3836, _UT),  # Amersfoort, Leusden
    (3837, 3889, _GE),  # Harderwijk, Ermelo, Nijkerk, Putten
    (3890, 3899, _FL),  # Zeewolde
    (3900, 3924, _UT),  # Veenendaal, Rhenen
    (3925, 3925, _GE),  # Scherpenzeel
    (3926, 3999, _UT),  # Doorn, Driebergen, Wijk bij Duurstede, Bunnik, Houten
    (4000, 4119, _GE),  # Tiel, Culemborg
    (4120, 4159, _UT),  # Vianen, Leerdam (Vijfheerenlanden)
    (4160, 4199, _GE),  # Heukelum, Geldermalsen
    (4200, 4209, _ZH),  # Gorinchem
    (4210, 4219, _GE),  # Spijk
    (4220, 4229, _ZH),  # Hoornaar
    (4230, 4239, _UT),  # Meerkerk, Ameide
    (4240, 4249, _ZH),  # Arkel
    (4250, 4299, _NB),  # Altena: Werkendam, Woudrichem
    (4300, 4599, _ZE),  # Schouwen, Walcheren, Beveland, Zeeuws-Vlaanderen
    (4600, 4689, _NB),  # Bergen op Zoom, Steenbergen
    (4690, 4699, _ZE),  # Tholen, Sint Philipsland
    (4700, 5299, _NB),  # Roosendaal, Breda, Oosterhout, Tilburg, 's-Hertogenbosch
    (5300, 5335, _GE),  # Zaltbommel, Maasdriel
    (5336, 5765, _NB),  # Oss, Uden, Veghel, Eindhoven, Helmond, Deurne
    (5766, 5817, _LI),  # Meijel, Venray
    (5818, 5849, _NB),  # Boxmeer, Sint Anthonis
    (5850, 6019, _LI),  # Venlo, Horst, Weert
    (6020, 6029, _NB),  # Budel, Maarheeze (Cranendonck)
    (6030, 6499, _LI),  # Roermond, Sittard, Maastricht, Heerlen, Kerkrade
    (6500, 6583, _GE),  # Nijmegen, Groesbeek, Malden
    (6584, 6599, _LI),  # Mook, Gennep
    (6600, 7399, _GE),  # Wijchen, Arnhem, Ede, Doetinchem, Zutphen, Apeldoorn
    (7400, 7739, _OV),  # Deventer, Twente, Ommen
    (7740, 7769, _DR),  # Coevorden, Dalen, Schoonebeek
    (7770, 7799, _OV),  # Hardenberg, Gramsbergen
    (7800, 7949, _DR),  # Emmen, Hoogeveen, Meppel
    (7950, 7956, _OV),  # Staphorst, Rouveen
    (7957, 7999, _DR),  # De Wolden, Westerveld
    (8000, 8069, _OV),  # Zwolle, Hasselt, Zwartsluis
    (8070, 8099, _GE),  # Nunspeet, Elburg, Oldebroek
    (8100, 8159, _OV),  # Raalte, Olst, Wijhe, Heino
    (8160, 8199, _GE),  # Epe, Heerde
    (8200, 8259, _FL),  # Lelystad, Dronten
    (8260, 8299, _OV),  # Kampen, Genemuiden
    (8300, 8322, _FL),  # Emmeloord, Urk
    (8323, 8379, _OV),  # Steenwijk, Giethoorn, Vollenhove
    (8380, 8389, _DR),  # Vledder, Frederiksoord
    (8390, 9299, _FR),  # Friesland
    (9300, 9349, _DR),  # Roden, Peize, Norg
    (9350, 9399, _GR),  # Leek, Marum
    (9400, 9499, _DR),  # Assen, Gieten, Zuidlaren, Vries
    (9500, 9509, _GR),  # Stadskanaal
    (9510, 9539, _DR),  # Gasselternijveen, Nieuw-Buinen, Borger
    (9540, 9759, _GR),  # Ter Apel, Veendam, Hoogezand, Groningen
    (9760, 9769, _DR),  # Eelde, Paterswolde
    (9770, 9999, _GR),  # Groningen (north and east)
)

_STARTS = [first for first, _, _ in RANGES]
_POSTCODE = re.compile(r"([1-9][0-9]{3})(?:\s*[A-Za-z]{2})?")


def province_for_pc4(number: int) -> Province | None:
    """The province of a four-digit postcode number, or None outside 1000..9999."""
    if not 1000 <= number <= 9999:
        return None
    index = bisect.bisect_right(_STARTS, number) - 1
    first, last, province = RANGES[index]
    return province if first <= number <= last else None


def province_for_postcode(postcode: str) -> Province | None:
    """``"1234 AB"``, ``"1234ab"`` or ``"1234"`` -> its province; None if not a Dutch postcode."""
    match = _POSTCODE.fullmatch(postcode.strip())
    if match is None:
        return None
    return province_for_pc4(int(match.group(1)))
