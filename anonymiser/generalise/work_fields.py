"""Job title -> a broad field of work (Dutch and English titles)."""

from __future__ import annotations

import re
from enum import Enum

from anonymiser.generalise._fold import fold


class WorkField(Enum):
    """A broad field of work; the value is a stable lower-case code."""

    ICT = "ict"
    ZORG = "zorg"
    ONDERWIJS = "onderwijs"
    FINANCIEN = "financien"
    MARKETING_COMMUNICATIE = "marketing-communicatie"
    TECHNIEK = "techniek"
    JURIDISCH = "juridisch"
    HR = "hr"
    LOGISTIEK = "logistiek"
    OVERHEID = "overheid"
    HORECA = "horeca"
    BOUW = "bouw"
    CREATIEF = "creatief"
    CONSULTANCY = "consultancy"
    SALES = "sales"
    WETENSCHAP = "wetenschap"

    @property
    def label(self) -> str:
        """Dutch display name."""
        return _LABELS[self][0]

    @property
    def label_en(self) -> str:
        return _LABELS[self][1]

    def display(self, lang: str = "nl") -> str:
        return self.label_en if lang == "en" else self.label

    def __str__(self) -> str:
        return self.label


_LABELS: dict[WorkField, tuple[str, str]] = {
    WorkField.ICT: ("ICT", "IT"),
    WorkField.ZORG: ("zorg en welzijn", "healthcare and social work"),
    WorkField.ONDERWIJS: ("onderwijs", "education"),
    WorkField.FINANCIEN: ("financiën", "finance"),
    WorkField.MARKETING_COMMUNICATIE: ("marketing en communicatie", "marketing and communications"),
    WorkField.TECHNIEK: ("techniek", "engineering and technology"),
    WorkField.JURIDISCH: ("juridisch", "legal"),
    WorkField.HR: ("HR", "HR"),
    WorkField.LOGISTIEK: ("logistiek", "logistics"),
    WorkField.OVERHEID: ("overheid", "government"),
    WorkField.HORECA: ("horeca", "hospitality"),
    WorkField.BOUW: ("bouw", "construction"),
    WorkField.CREATIEF: ("creatief", "creative"),
    WorkField.CONSULTANCY: ("consultancy", "consultancy"),
    WorkField.SALES: ("sales", "sales"),
    WorkField.WETENSCHAP: ("wetenschap en onderzoek", "science and research"),
}

# Rules are tried in order; the first that matches anywhere in the folded title wins.
# Word stems without \b also match inside Dutch compounds ("kinderverpleegkundige").
# Specific combinations come first, then whole fields from the most to the least
# telling ("docent verpleegkunde" is education, "sales engineer" is sales).
_RULES: tuple[tuple[WorkField, str], ...] = (
    (WorkField.SALES, r"business ?develop|accountmanag|account manag|account exec|customer care"),
    (WorkField.OVERHEID, r"beleid|policy (?:advis|officer|maker)"),
    (WorkField.MARKETING_COMMUNICATIE, r"marktonderzoek|market research|\bux writer"),
    (
        WorkField.ICT,
        r"\bux\b|\bui\b|user experience|\bdata\b|data ?(?:analist|analyst|"
        r"scien|engineer|archit)|software|scrum|product ?owner|"
        r"devops|cyber|cloud",
    ),
    (
        WorkField.FINANCIEN,
        r"financieel advis|financial advis|hypotheekadvis|"
        r"mortgage advis|belastingadvis|tax advis",
    ),
    (WorkField.TECHNIEK, r"werktuigbouw"),
    (WorkField.BOUW, r"civiel|civil engineer|bouwkund|werkvoorbereid|uitvoerder"),
    (WorkField.CONSULTANCY, r"business anal"),
    (
        WorkField.ONDERWIJS,
        r"docent|leraar|lerares|leerkracht|teacher|onderwijs|"
        r"\bjuf\b|schoolleid|schooldirect|\brector|lecturer|tutor|"
        r"pedagog|didact|intern begeleid|remedial|kinderopvang|"
        r"gastouder|onderwijsassist|teaching|opleidingscoord|"
        r"\bprincipal\b",
    ),
    (
        WorkField.ZORG,
        r"verpleeg|verpleger|\bnurse|arts\b|\bdokter|doctor\b|physician|"
        r"\bzorg|zorg\b|care\b|caregiver|therapeut|therapist|fysio|physio|"
        r"psycholo|psychiat|apothe|pharmac|verzorg|medisch|medical|klinisch|"
        r"clinical|\bggz|maatschappelijk werk|social work|jeugdzorg|"
        r"verloskund|midwife|radiolog|ambulance|paramedic|dietist|dietitian|"
        r"logoped|tandarts|dentist|mondhygien|health|\bgz\b|"
        r"begeleider|coassistent|chirurg|surgeon|welzijn|ouderenzorg",
    ),
    (
        WorkField.JURIDISCH,
        r"jurist|advocaat|lawyer|legal|notaris|notary|rechter|\bjudge|"
        r"juridisch|griffier|attorney|solicitor|counsel|compliance|"
        r"privacy officer|paralegal|deurwaarder|bailiff|mediator|justitie",
    ),
    (
        WorkField.HR,
        r"\bhr\b|\bhrm|human resource|recruit|werving|\bp ?& ?o\b|personeels|"
        r"talent acqui|people (?:partner|manag|lead)|payroll|salarisadmin|"
        r"loopbaan|career coach|outplacement|arbeidsdeskund|l ?& ?d\b",
    ),
    (
        WorkField.FINANCIEN,
        r"financ|accountant|boekhoud|bookkeep|controller|\baudit|"
        r"fiscal|fiscaal|belasting|\btax\b|treasur|actuar|\bbank|"
        r"banker|hypothe|mortgage|invest|krediet|credit|\brisk|"
        r"\bcfo\b|administrateur|debiteur|crediteur|verzeker|insurance|"
        r"econom",
    ),
    (
        WorkField.ICT,
        r"\bit\b|\bict|developer|ontwikkelaar|programmeur|programmer|coder\b|"
        r"informatic|applicatie|application|systeembeheer|sysadmin|"
        r"netwerkbeheer|network|database|\bdba\b|frontend|front end|backend|"
        r"back end|full ?stack|webdevelop|\bweb\b|tester\b|\bqa\b|"
        r"functioneel beheer|servicedesk|service desk|helpdesk|help desk|"
        r"\bcto\b|\bcio\b|machine learning|\bai\b|security officer|"
        r"it architect|solution architect|enterprise architect|"
        r"software architect|computer|digitaal|digital",
    ),
    (
        WorkField.MARKETING_COMMUNICATIE,
        r"marketing|marketeer|communicat|\bpr\b|"
        r"public relations|woordvoer|spokes|content|"
        r"social media|copywrit|journalist|redacteur|"
        r"editor|\bseo\b|\bsea\b|brand|\bmerk|campagne|"
        r"campaign|growth|community manag|persvoorlicht|"
        r"voorlichter|reclame|advertis|\bmedia\b|media",
    ),
    (
        WorkField.SALES,
        r"sales|verkoop|verkoper|commercieel|commercial|winkel|retail|"
        r"kassa|cashier|\bstore\b|\bshop|makelaar|estate agent|realtor|"
        r"klantenservice|customer (?:service|success|support)|callcenter|"
        r"call center|binnendienst|buitendienst|vertegenwoordig|"
        r"representative|filiaal",
    ),
    (
        WorkField.LOGISTIEK,
        r"logisti|supply chain|transport|chauffeur|driver|"
        r"vrachtwagen|truck|magazijn|warehouse|inkoop|inkoper|purchas|"
        r"procurement|buyer|planner|expeditie|koerier|courier|bezorg|"
        r"delivery|douane|customs|scheepvaart|shipping|order ?picker|"
        r"heftruck|forklift|distributie|distribution|voorraad|"
        r"inventory|fleet|wagenpark|havenmedewerk|stuwadoor",
    ),
    (
        WorkField.OVERHEID,
        r"ambtenaar|civil servant|gemeente|rijksoverheid|ministerie|"
        r"ministry|government|overheid|provincie|handhav|\bboa\b|"
        r"politie|police|wijkagent|defensie|military|militair|"
        r"soldier|soldaat|officier|brandweer|firefighter|"
        r"belastingdienst|diplomat|burgerzaken|raadslid|wethouder|"
        r"burgemeester|mayor|public sector|publieke sector|gevangenis|"
        r"\bpija\b|douanier",
    ),
    (
        WorkField.HORECA,
        r"\bkok\b|kok\b|\bchef\b|\bcook\b|barista|bartender|barman|"
        r"\bober\b|waiter|waitress|serveerster|bediening|horeca|hotel|"
        r"restaurant|catering|cateraar|afwas|dishwash|hospitality|"
        r"bakker|baker|patissier|sommelier|gastheer|gastvrouw|host\b|"
        r"hostess|housekeep|receptionist",
    ),
    (
        WorkField.BOUW,
        r"\bbouw|bouw\b|construct|timmerman|timmervrouw|carpenter|"
        r"metselaar|bricklay|loodgieter|plumber|stukadoor|plasterer|"
        r"aannemer|contractor|dakdekker|roofer|huisschilder|schilder\b|"
        r"decorator|tegelzetter|tiler|stratenmaker|grondwerk|sloper|"
        r"landmeter|surveyor|steigerbouw|scaffold|architect|"
        r"projectontwikkel|vastgoed|real estate|installateur|"
        r"glazenier|voeger|betonwerk",
    ),
    (
        WorkField.WETENSCHAP,
        r"onderzoek|research|promovend|\bphd|\bpostdoc|"
        r"hoogleraar|professor|wetenschap|scien|laborant|"
        r"\blab\b|laborator|analist|bioloog|biolog|chemist|chemicus|natuurkund|"
        r"physicist|wiskund|mathematic|statistic|academ|"
        r"universitair docent",
    ),
    (
        WorkField.CREATIEF,
        r"design|ontwerp|grafisch|graphic|kunst|artist|fotograa?f|"
        r"photograph|illustrat|muzi|musician|acteur|actor|actrice|"
        r"actress|\bfilm|video|animat|creative|creatief|stylist|"
        r"art director|schrijver|writer|auteur|author|vormgev|interieur|"
        r"interior|\bmode\b|fashion|danser|dancer|theater|theatre|"
        r"regisseur|director of photography|componist|composer|"
        r"kapper|hairdress|visagist|make ?up|game",
    ),
    (
        WorkField.CONSULTANCY,
        r"consult|advis|advies|advisory|interim|strateg|"
        r"verandermanag|change manag|organisatieadvies|"
        r"business analist|business analyst|procesverbeter|"
        r"process improvement|lean|coach\b|\bcoach",
    ),
    (
        WorkField.TECHNIEK,
        r"monteur|mechanic|technicus|technician|engineer|ingenieur|"
        r"elektric|electrician|elektro|werktuigbouw|mechanical|"
        r"electrical|operator|productie|production|lasser|welder|"
        r"onderhoud|maintenance|techni|\bcnc\b|machinist|installatie|"
        r"automotive|procestechnolog|constructeur|tekenaar|draftsman|"
        r"fabriek|factory|assemblage|assembly|kwaliteitsdienst|"
        r"quality engineer|r ?& ?d\b|energie|energy|werkplaats",
    ),
)

_COMPILED: tuple[tuple[WorkField, re.Pattern[str]], ...] = tuple(
    (field, re.compile(pattern)) for field, pattern in _RULES
)


def field_of_work(job_title: str) -> WorkField | None:
    """The broad field a job title belongs to, or None if nothing in it is telling."""
    text = fold(job_title)
    if not text:
        return None
    for field, pattern in _COMPILED:
        if pattern.search(text):
            return field
    return None
