"""General-knowledge words that are never personal data of the writer.

Famous people (authors, thinkers, athletes, politicians, TV people) and fictional
characters, whom clients quote and read; languages, nationalities, month names
and programming languages; countries and Dutch provinces (a province is the
level the anonymiser generalises to, so it may stay).
"""

from __future__ import annotations


def _words(block: str) -> frozenset[str]:
    return frozenset(block.split())


FAMOUS_PEOPLE: tuple[str, ...] = (
    # Dutch and Flemish authors, thinkers, TV and radio people
    "Rutger Bregman", "Herman Koch", "Harry Mulisch", "Hella Haasse", "Annie M.G. Schmidt",
    "Annie M. G. Schmidt", "Connie Palmen", "Arjen Lubach", "Saskia Noort", "Griet Op de Beeck",
    "Arnon Grunberg", "Tommy Wieringa", "Gerard Reve", "Willem Frederik Hermans",
    "Jan Wolkers", "Hugo Claus", "Toon Tellegen", "Paul van Vliet", "Youp van 't Hek",
    "Herman Finkers", "Freek de Jonge", "Adriaan van Dis", "Kader Abdolah", "Maarten 't Hart",
    "Marieke Lucas Rijneveld", "Jan Siebelink", "Renate Dorrestein", "Esther Gerritsen",
    "Paul Verhaeghe", "Dirk De Wachter", "Matthijs van Nieuwkerk", "Eva Jinek",
    "Jeroen Pauw", "Humberto Tan", "Linda de Mol", "Johan Derksen", "Paul de Leeuw",
    "Tim Hofman", "Floortje Dessing", "Wim Hof", "Ben Tiggelaar", "Mark Tigchelaar",
    "Jan Terlouw", "Louise Fresco", "Erik Scherder", "Dick Swaab", "Alexander Klöpping",
    "Anne Frank", "Vincent van Gogh", "Rembrandt van Rijn", "Johannes Vermeer",
    "Piet Mondriaan", "Erasmus", "Spinoza", "Multatuli",
    # Dutch athletes and politicians
    "Johan Cruijff", "Johan Cruyff", "Max Verstappen", "Sifan Hassan", "Dafne Schippers",
    "Epke Zonderland", "Ireen Wüst", "Sven Kramer", "Marco van Basten", "Virgil van Dijk",
    "Arjen Robben", "Ruud Gullit", "Louis van Gaal", "Mark Rutte", "Wopke Hoekstra",
    "Sigrid Kaag", "Geert Wilders", "Frans Timmermans", "Pieter Omtzigt", "Caroline van der Plas",
    "Dick Schoof", "Willem-Alexander", "Koning Willem-Alexander", "Koningin Máxima",
    "Prinses Amalia", "Pim Fortuyn", "Ahmed Aboutaleb", "Femke Halsema",
    # International authors and thinkers
    "Yuval Noah Harari", "Yuval Harari", "Daniel Kahneman", "Esther Perel",
    "Patrick Lencioni", "Elizabeth Gilbert", "Richard Dawkins", "Carl Sagan",
    "Camille Fournier", "Steven Pinker", "Jordan Peterson", "Brené Brown", "Brene Brown",
    "Mark Manson", "Ryan Holiday", "Tim Ferriss", "Robin Sharma", "Rolf Dobelli",
    "Marie Kondo", "Michelle Obama", "Barack Obama", "Nelson Mandela", "Martin Luther King",
    "Mahatma Gandhi", "Albert Einstein", "Isaac Newton", "Charles Darwin", "Marie Curie",
    "Stephen Hawking", "Sigmund Freud", "Carl Jung", "Abraham Maslow", "Carl Rogers",
    "Martin Seligman", "Mihaly Csikszentmihalyi", "Angela Duckworth", "Daniel Goleman",
    "Daniel Pink", "Peter Drucker", "Jim Collins", "Clayton Christensen", "Seth Godin",
    "Gary Vaynerchuk", "Oprah Winfrey", "Ellen DeGeneres", "Steve Jobs", "Bill Gates",
    "Elon Musk", "Jeff Bezos", "Warren Buffett", "Mark Zuckerberg", "Sheryl Sandberg",
    "Arianna Huffington", "Ray Dalio", "Naval Ravikant", "Morgan Housel", "Robert Kiyosaki",
    "Napoleon Hill", "Marcus Aurelius", "Seneca", "Epictetus", "Friedrich Nietzsche",
    "Immanuel Kant", "Hannah Arendt", "Simone de Beauvoir", "Jean-Paul Sartre",
    "Albert Camus", "George Orwell", "Virginia Woolf", "Jane Austen", "Charles Dickens",
    "William Shakespeare", "Ernest Hemingway", "Haruki Murakami", "Paulo Coelho",
    "Gabriel García Márquez", "Toni Morrison", "Margaret Atwood", "Sally Rooney",
    "Khaled Hosseini", "Elif Shafak", "Chimamanda Ngozi Adichie", "J.K. Rowling",
    "Stephen King", "Agatha Christie", "Tolkien", "J.R.R. Tolkien", "Ken Follett",
    "Dan Brown", "Michael Lewis", "Matthew Walker", "Johann Hari", "Oliver Burkeman",
    "Greg McKeown", "Charles Duhigg", "Gretchen Rubin", "Julia Cameron", "Steven Pressfield",
    "Austin Kleon", "Bessel van der Kolk", "Gabor Maté", "Gabor Mate", "Thich Nhat Hanh",
    "Dalai Lama", "Jon Kabat-Zinn", "Byron Katie", "Louise Hay", "Mel Robbins",
    "Marshall Rosenberg", "Stephen R. Covey", "Frederic Laloux", "Otto Scharmer",
    "Tal Ben-Shahar", "Amy Edmondson", "Kim Scott", "Ben Horowitz", "Reid Hoffman",
    # International athletes, politicians, TV people
    "Serena Williams", "Roger Federer", "Rafael Nadal", "Lionel Messi", "Cristiano Ronaldo",
    "Michael Jordan", "LeBron James", "Usain Bolt", "Simone Biles", "Lewis Hamilton",
    "Muhammad Ali", "Tiger Woods", "Eliud Kipchoge", "Winston Churchill", "Angela Merkel",
    "Emmanuel Macron", "Joe Biden", "Donald Trump", "Kamala Harris", "Jacinda Ardern",
    "Greta Thunberg", "Malala Yousafzai", "David Attenborough", "Taylor Swift",
    "Beyoncé", "Steven Bartlett", "Jay Shetty", "Andrew Huberman", "Lex Fridman",
    # Fictional characters
    "Harry Potter", "Hermione Granger", "Sherlock Holmes", "Pippi Langkous",
    "Pippi Longstocking", "Nijntje", "Miffy", "Dikkie Dik", "Jip en Janneke",
    "Sinterklaas", "Zwarte Piet", "Kerstman", "Santa Claus", "James Bond",
    "St Patrick", "Saint Patrick", "Sint Patrick",
)  # fmt: skip

# Single words, lower case: languages and nationalities, months, tools.
KEEP_WORDS: frozenset[str] = _words(
    """
    nederlands engels duits arabisch turks pools spaans italiaans portugees russisch
    chinees japans grieks fries berbers tamazight somalisch tigrinya oekraiens roemeens
    english dutch german french arabic turkish polish spanish italian portuguese russian
    chinese japanese greek frisian irish scottish welsh british american canadian
    australian belgian moroccan ukrainian romanian indian pakistani surinamese syrian
    january february march april may june july august september october november december
    python java javascript typescript kotlin golang kubernetes docker terraform excel
    afas sql go
    """
)

# Countries and Dutch provinces (Dutch and English spellings), lower case.
REGIONS: frozenset[str] = _words(
    """
    nederland holland belgie belgië duitsland frankrijk engeland schotland ierland
    spanje portugal italie italië polen turkije marokko suriname syrie syrië irak iran
    afghanistan eritrea somalie ethiopie oekraine oekraïne rusland roemenie bulgarije
    griekenland zweden noorwegen denemarken finland oostenrijk zwitserland hongarije
    tsjechie china japan india indonesie amerika canada australie brazilie mexico
    netherlands belgium germany france england scotland ireland spain italy poland
    turkey morocco syria iraq ukraine russia romania bulgaria greece sweden norway
    denmark austria switzerland hungary india indonesia america usa canada australia
    brazil
    groningen friesland fryslan drenthe overijssel flevoland gelderland utrecht
    noord-holland zuid-holland zeeland noord-brabant brabant limburg
    """
) - {"utrecht", "groningen"}  # also cities: those are hidden

# Ordinary Dutch and English words that name lists also hold ("Mooi", "Day", "Love"):
# never re-cased in all-lower-case text, so they stay words.
ORDINARY_WORDS: frozenset[str] = _words(
    """
    beste liefst liefs vriend vriendin mooi kunst lastig leuk fijn goed slecht groot klein
    snel traag rustig druk blij boos bang moe ziek gezond sterk zwak warm koud nieuw oud
    jong lief zoet zuur bitter hard zacht licht donker vroeg laat lang kort hoog laag
    werk baan school huis thuis tuin bos zee strand berg stad dorp land water vuur
    zomer winter lente herfst dag nacht week maand morgen avond ochtend middag
    bakker visser smit schipper koster koning prins graaf ridder boer kok snijder
    love proper job fine both made day go good great nice best better well free
    home work house garden wood sea beach hill town city land water fire summer winter
    spring autumn fall night week month morning evening king prince knight farmer cook
    baker fisher smith miller hunter walker young old new long short little small big
    white black brown green gray grey rich
    sunny bright happy sweet honey page summer
    art design brand cash cook gay hall hill hunt lane
    major mason moss park parks reed rich ross stone strong street ward west
    wolf woods wood dover april august june
    """
)
