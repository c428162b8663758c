"""Large employers in the Netherlands, matched as whole words.

A general list (biggest Dutch employers, public bodies and well-known brands), not
taken from any evaluation data. Entries in ``CASED`` are ordinary words or short
acronyms in lower case ("ing", "ns"), so they only match as written here.
"""

from __future__ import annotations

ANY_CASE: tuple[str, ...] = (
    "ASML", "KLM", "KPN", "Philips", "Shell", "Unilever", "Heineken", "Ahold Delhaize",
    "Ahold", "Albert Heijn", "Lidl", "Aldi", "Plus Retail", "Rabobank", "ABN AMRO",
    "ABN-AMRO", "Achmea", "Aegon", "NN Group", "Nationale-Nederlanden",
    "Nationale Nederlanden", "PostNL", "Randstad", "Belastingdienst", "Rijkswaterstaat",
    "UWV", "Coolblue", "bol.com", "Booking.com", "Adyen", "TomTom", "DSM-Firmenich",
    "AkzoNobel", "Akzo Nobel", "Vopak", "Wolters Kluwer", "Tata Steel", "Schiphol",
    "Eneco", "Vattenfall", "Essent", "Ziggo", "VodafoneZiggo", "Vodafone", "T-Mobile",
    "Odido", "Kruidvat", "Blokker", "Bijenkorf", "IKEA", "Deloitte", "KPMG", "PwC",
    "Accenture", "Capgemini", "Sogeti", "Arcadis", "Heijmans", "VolkerWessels",
    "Boskalis", "Van Oord", "Fugro", "DAF", "Damen Shipyards", "Thales",
    "Sodexo", "Transdev", "Arriva", "Connexxion", "Qbuzz", "Keolis", "Prorail",
    "ProRail", "Tennet", "TenneT", "Alliander", "Stedin", "Enexis", "Gasunie",
    "Nedap", "NXP", "Signify", "Ricoh", "Océ", "Exact Software",
    "Nationale Politie", "Politie Nederland", "Defensie", "Ministerie van Defensie",
    "Rijksoverheid", "DUO", "CBR", "CJIB", "SVB", "Kadaster", "RIVM", "TNO",
    "Sanquin", "Zilveren Kruis", "CZ", "Menzis", "VGZ", "Univé", "Interpolis",
    "Centraal Beheer", "Triodos", "ASN Bank", "SNS", "SNS Bank", "de Volksbank",
    "Volksbank", "Knab", "bunq", "Ohra", "Delta Lloyd", "Robeco", "APG", "PGGM",
    "Jumbo Supermarkten", "Hema", "HEMA", "Karwei", "Intratuin",
    "MediaMarkt", "Wehkamp", "Zalando", "Picnic", "Thuisbezorgd", "Just Eat Takeaway",
    "Takeaway.com", "Mollie", "Backbase", "Google",
    "Microsoft", "Facebook", "IBM", "Oracle", "SAP",
    "Salesforce", "Cisco", "Dell", "HP", "Siemens", "Bosch", "Stibbe", "Loyens & Loeff",
    "De Brauw", "NautaDutilh", "Allen & Overy", "McKinsey", "BCG", "Ernst & Young",
    "Grant Thornton", "BDO", "Mazars", "Baker Tilly", "Tempo-Team", "Adecco",
    "Manpower", "Start People", "Brunel", "Calco", "YoungCapital", "Hays",
    "Vitens", "Evides", "Waternet", "Brabant Water", "Havenbedrijf Rotterdam",
    "Port of Rotterdam", "Royal HaskoningDHV", "Witteveen+Bos", "Sweco", "Antea Group",
    "Dura Vermeer", "BAM", "Ballast Nedam", "Strukton", "Heerema", "SBM Offshore",
    "Vanderlande", "Wavin", "Aalberts", "Corbion", "Cosun", "FrieslandCampina",
    "Friesland Campina", "Douwe Egberts", "JDE Peet's", "Grolsch",
    "Bavaria", "Hunkemöller", "G-Star", "Scotch & Soda", "C&A", "Zeeman", "Xenos",
    "Etos", "Trekpleister", "DA Drogisterij", "Hornbach", "Sligro", "Makro",
    "Hanos", "Bidfood", "Dirk van den Broek", "Hoogvliet", "Vomar", "Coop",
    "Dekamarkt", "Nettorama", "Boni", "Poiesz", "Jan Linders", "Ekoplaza",
    "NS", "ING", "GVB", "RET", "HTM", "EY", "Jumbo", "Exact",
)  # fmt: skip

# Short or ambiguous entries: matched only exactly as written (so not "ing", "plus").
CASED: frozenset[str] = frozenset(
    {"NS", "ING", "GVB", "RET", "HTM", "EY", "Jumbo", "Gamma",
     "Boni", "Yacht",
     "Vion",
     "BAM", "DUO", "CBR", "SVB", "APG", "CZ", "VGZ", "SNS", "DAF",
     "NXP", "IBM", "SAP", "HP", "BCG", "BDO", "Bosch", "Dell", "Cisco", "Etos", "Ohra",
     "Knab", "bunq", "Hema", "HEMA", "Zeeman", "Xenos", "Makro", "Hanos", "Deen",
     "Mollie", "Picnic", "Calco", "Brunel", "Sligro", "Google", "Oracle"}
)  # fmt: skip
